package quality

import "strings"

// englishWords are frequent English words, function words and the general vocabulary of
// figure captions. A caption most of whose words are in this list is English whatever the
// stop-word votes say: short captions full of single letters and symbols ("a = 1000, A = 50")
// or words other languages share ("as", "do", "no", "a") fool the votes.
var englishWords = setOf(`the of and in to is for with on by are from as at an this that which be or
shows shown show was were between each after into its not using than these their it we has have
left right above below where when per both all other two a one three four five six first second
third same different start starts end but much more most less least faster slower higher lower
larger smaller large small high low long short new old only also very well so such then there here
how what who why can could may might will would should must do does did done no yes some any many
few several every if else while during before under over through up down out off about against
along around without within upon same step steps size sizes rate rates time times value values
function functions order orders number numbers data set sets result results method methods model
models sample samples image images figure figures table plot plots graph curve curves line lines
point points area areas region regions part parts level levels type types case cases example
examples estimate estimated weight weights sequence sequences decay decays parameter parameters
distribution distributions frequency frequencies density mean median average standard deviation
error errors ratio count counts total test tests group groups control treatment effect effects
gene genes expression cell cells tissue tissues patient patients normal disease section sections
view views arrow arrows panel panels top bottom middle centre center side image scale bar shows
showing used use uses based base structure structures surface change changes difference
differences increase increases decrease decreases comparison compared compare analysis
observed observation measurement measurements measured signal signals intensity intensities
registration transform transformation fixed moving grid grids space spaces component components
process processing output input file files window screen user example menu button option options
main view display displayed color colour colors colours red green blue black white gray grey dark
light small typical typically different various overview schematic diagram illustration
representation
adjacency matrix matrices vector vectors normalized normalised raw corrected correction filter filtered
across along within given given following follows between among per versus vs log fold
`)

// setOf is the set of the whitespace-separated words of s.
func setOf(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// englishWord reports whether w (lower case) or its stem without a regular English ending is
// in englishWords.
func englishWord(w string) bool {
	if englishWords[w] {
		return true
	}
	for _, suf := range []struct{ cut, add string }{{"s", ""}, {"es", ""}, {"ed", ""}, {"d", ""}, {"ing", ""}, {"ing", "e"}, {"ly", ""}, {"ies", "y"}} {
		if stem, ok := strings.CutSuffix(w, suf.cut); ok && len(stem) >= 3 && englishWords[stem+suf.add] {
			return true
		}
	}
	return false
}

// englishShare is the share of the words of two letters or more that englishWord knows, and
// how many words it counted.
func englishShare(words []string) (share float64, n int) {
	known := 0
	for _, w := range words {
		if len([]rune(w)) < 2 {
			continue
		}
		n++
		if englishWord(w) {
			known++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float64(known) / float64(n), n
}
