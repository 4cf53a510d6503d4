package framework

import (
	"math/rand/v2"
)

// UniqueName returns prefix followed by a dash and five random lowercase letters and digits, a
// valid name for any object (namespaces included) that no earlier run left behind.
func UniqueName(prefix string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return prefix + "-" + string(b)
}
