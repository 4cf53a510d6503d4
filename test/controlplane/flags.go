package controlplane

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// kubeAPIServerFlags are kube-apiserver's flags for a local control plane, from the file
// hack/local-up.sh reads too, with each {name} replaced by values[name].
func kubeAPIServerFlags(root string, values map[string]string) ([]string, error) {
	file := filepath.Join(root, "hack", "lib", "kube-apiserver.flags")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return fillFlags(file, data, values)
}

var unfilled = regexp.MustCompile(`\{[a-z-]+\}`)

// fillFlags reads one flag per line of data, skipping blank lines and # comments, and fills
// in each {name} from values; a {name} that values lack is an error.
func fillFlags(file string, data []byte, values map[string]string) ([]string, error) {
	var flags []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for name, value := range values {
			line = strings.ReplaceAll(line, "{"+name+"}", value)
		}
		if m := unfilled.FindString(line); m != "" {
			return nil, fmt.Errorf("%s:%d: nothing fills in %s", file, n, m)
		}
		flags = append(flags, line)
	}
	if len(flags) == 0 {
		return nil, fmt.Errorf("%s holds no flags", file)
	}
	return flags, sc.Err()
}
