package quality

import (
	"sort"
	"strings"
	"unicode"
)

// Undetermined is the language code for text too short or too ambiguous to tell.
const Undetermined = "und"

// stopWords lists frequent function words per language (ISO 639-1). They are what tells the
// languages of the Latin script apart in short texts such as captions; content words (often
// Latin or Greek medical terms) say little.
var stopWords = map[string][]string{
	"en": {"the", "of", "and", "in", "to", "is", "for", "with", "on", "by", "are", "from", "as", "at",
		"an", "this", "that", "which", "be", "or", "shows", "shown", "was", "were", "between", "each",
		"after", "into", "its", "not", "using", "than", "these", "their", "it", "we", "has", "have",
		"left", "right", "above", "below", "where", "when", "per", "both", "all", "other", "two"},
	"de": {"der", "die", "das", "und", "in", "von", "mit", "den", "des", "ist", "im", "für", "auf",
		"dem", "nach", "eine", "ein", "einer", "zur", "zum", "bei", "sind", "wird", "werden", "oder",
		"aus", "nicht", "links", "rechts", "zwischen", "durch", "sich", "als", "auch", "wie", "über"},
	"fr": {"le", "la", "les", "de", "des", "du", "et", "en", "un", "une", "dans", "est", "pour",
		"par", "sur", "avec", "au", "aux", "que", "qui", "sont", "ou", "pas", "entre", "après",
		"gauche", "droite", "cette", "ces", "son", "sa", "ses", "être", "chez"},
	"es": {"el", "la", "los", "las", "de", "del", "y", "en", "un", "una", "es", "por", "para",
		"con", "que", "se", "al", "su", "sus", "son", "o", "entre", "después", "izquierda",
		"derecha", "como", "este", "esta", "muestra", "lo", "sin"},
	"it": {"il", "lo", "la", "i", "gli", "le", "di", "del", "della", "dei", "delle", "e", "in",
		"un", "una", "è", "per", "con", "che", "da", "nel", "nella", "sono", "tra", "dopo",
		"sinistra", "destra", "come", "questo", "questa", "non", "al", "alla"},
	"pt": {"o", "a", "os", "as", "de", "do", "da", "dos", "das", "e", "em", "no", "na", "um",
		"uma", "é", "para", "com", "que", "por", "se", "ao", "são", "entre", "após", "esquerda",
		"direita", "como", "este", "esta", "não", "mostra", "nos", "nas"},
	"nl": {"de", "het", "een", "en", "van", "in", "is", "op", "met", "voor", "dat", "die", "zijn",
		"aan", "bij", "naar", "of", "door", "niet", "wordt", "worden", "links", "rechts", "tussen",
		"na", "ook", "als", "deze", "dit"},
}

// stopIndex maps a word to the languages whose stop-word list holds it.
type stopIndex map[string][]string

func buildStopIndex() stopIndex {
	idx := stopIndex{}
	for lang, words := range stopWords {
		for _, w := range words {
			idx[w] = append(idx[w], lang)
		}
	}
	return idx
}

// LanguageCodes lists the codes DetectLanguage can answer, sorted: the Latin-script languages
// it knows by their stop words and the languages it knows by their script.
func LanguageCodes() []string {
	out := []string{"zh", "ja", "ko", "ru", "el", "ar", "he", "hi", "th"}
	for code := range stopWords {
		out = append(out, code)
	}
	sort.Strings(out)
	return out
}

// The dictionary check of DetectLanguage: a Latin-script text with at least minEnglishWords
// words of two letters or more, of which at least minEnglishShare are English words, is
// English whatever the stop-word votes say.
const (
	minEnglishWords = 3
	minEnglishShare = 0.6
)

// Language is the outcome of DetectLanguage.
type Language struct {
	// Code is an ISO 639-1 code ("en", "de", …), a script name for scripts that identify
	// their language family well enough for filtering ("zh", "ja", "ko", "ru", "el", "ar",
	// "he", "hi", "th"), or Undetermined.
	Code string
	// Confidence is in [0, 1]: for Latin-script text, the winning language's share of the
	// stop-word votes weighted by how many words were stop words at all.
	Confidence float64
}

// DetectLanguage guesses the language of a short text such as a figure caption. Non-Latin
// scripts are recognised by their letters; Latin-script languages by stop-word votes (words
// shared by several languages split their vote). Text with fewer than three stop words is
// Undetermined: captions like "Figure 3: MA plot" carry no evidence either way. A text whose
// words are mostly English words (a dictionary check) is English: short-text votes are
// easily swayed by single letters and words other languages share.
func DetectLanguage(text string) Language {
	var latin, letters int
	scripts := map[string]int{}
	for _, r := range text {
		if !unicode.IsLetter(r) {
			continue
		}
		letters++
		switch {
		case unicode.Is(unicode.Latin, r):
			latin++
		case unicode.Is(unicode.Han, r):
			scripts["zh"]++
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			scripts["ja"]++
		case unicode.Is(unicode.Hangul, r):
			scripts["ko"]++
		case unicode.Is(unicode.Cyrillic, r):
			scripts["ru"]++
		case unicode.Is(unicode.Greek, r):
			scripts["el"]++
		case unicode.Is(unicode.Arabic, r):
			scripts["ar"]++
		case unicode.Is(unicode.Hebrew, r):
			scripts["he"]++
		case unicode.Is(unicode.Devanagari, r):
			scripts["hi"]++
		case unicode.Is(unicode.Thai, r):
			scripts["th"]++
		}
	}
	if letters == 0 {
		return Language{Code: Undetermined}
	}
	if scripts["ja"] > 0 {
		// Kana mark Japanese even amid Han characters.
		scripts["ja"] += scripts["zh"]
		delete(scripts, "zh")
	}
	best, bestN := "", 0
	for s, n := range scripts {
		if n > bestN || (n == bestN && s < best) {
			best, bestN = s, n
		}
	}
	// Greek letters are common in Latin-script scientific text (α, β, μ): a non-Latin script
	// decides only when it dominates.
	if bestN > latin {
		return Language{Code: best, Confidence: min(1, float64(bestN)/float64(letters))}
	}
	idx := buildStopIndex()
	votes := map[string]float64{}
	words, hits := 0, 0
	all := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\''
	})
	for _, w := range all {
		words++
		langs := idx[w]
		if len(langs) == 0 {
			continue
		}
		hits++
		for _, l := range langs {
			votes[l] += 1 / float64(len(langs))
		}
	}
	if hits < 3 {
		return Language{Code: Undetermined}
	}
	var total float64
	bestL, bestV := "", -1.0
	for l, v := range votes {
		total += v
		if v > bestV || (v == bestV && l < bestL) {
			bestL, bestV = l, v
		}
	}
	share := bestV / total
	coverage := min(1, 3*float64(hits)/float64(words)) // ~1/3 of running text is stop words
	if bestL != "en" {
		// A dictionary check overrules the votes: most words English means English.
		if en, n := englishShare(all); n >= minEnglishWords && en >= minEnglishShare {
			return Language{Code: "en", Confidence: en}
		}
	}
	return Language{Code: bestL, Confidence: share * coverage}
}
