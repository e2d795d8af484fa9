package quality

import "testing"

// TestEnglishCaptionsByDictionary: real English captions from the test corpus that the
// stop-word votes alone called Portuguese ("a", "as" vote pt) are English by the dictionary
// check, and other languages stay what they are.
func TestEnglishCaptionsByDictionary(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		// elastix manual (elastix-doc), Figure 5.1: was "pt", confidence 0.57
		{"Sequence 1: a = 1000, A = 50, α = 0.602. Sequence 2: a = 400, A = 10, α = 0.602. Both sequences start with the same step size, but sequence 2 decays much faster.", "en"},
		{"Figure 5: Estimated weights as a function of adjacency order.", "en"},
		{"Die Abbildung zeigt die Verteilung der Zellen in dem Gewebe nach der Behandlung.", "de"},
		{"A figura mostra a distribuição das células no tecido após o tratamento com a droga.", "pt"},
		{"La figure montre la distribution des cellules dans le tissu après le traitement.", "fr"},
	} {
		if got := DetectLanguage(tc.text); got.Code != tc.want {
			t.Errorf("%q: %s (%.2f), want %s", tc.text, got.Code, got.Confidence, tc.want)
		}
	}
}
