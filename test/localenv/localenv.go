// Package localenv reads the settings file a local control plane records in its directory
// ($LOCAL_DIR/env): the KEY=VALUE lines hack/lib/common.sh writes with lcp::env_line, which
// bash can source as well. It imports nothing of the test suites, so every suite and tool
// can read the file the same way.
package localenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the settings file's name inside a control plane's directory.
const FileName = "env"

// ReadDir reads the settings of the control plane recorded in dir.
func ReadDir(dir string) (map[string]string, error) {
	return Read(filepath.Join(dir, FileName))
}

// Read reads a settings file.
func Read(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the control plane settings: %w", err)
	}
	return Parse(path, data)
}

// Parse parses settings; name names their source in errors. Blank lines and lines starting
// with # are skipped; every other line is NAME=VALUE, NAME a shell variable name and VALUE one
// shell word without expansions: plain characters, 'single-quoted' and "double-quoted" parts
// and backslash escapes, as bash would assign it. A later line of the same NAME wins, as when
// bash sources the file. Any other line is an error naming its number.
func Parse(name string, data []byte) (map[string]string, error) {
	env := map[string]string{}
	s := bufio.NewScanner(bytes.NewReader(data))
	s.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for s.Scan() {
		n++
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d %q: %w", name, n, line, err)
		}
		env[k] = v
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return env, nil
}

func parseLine(line string) (string, string, error) {
	k, v, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", errors.New("not NAME=VALUE")
	}
	if !isName(k) {
		return "", "", fmt.Errorf("%q is not a variable name", k)
	}
	value, err := unquote(v)
	if err != nil {
		return "", "", fmt.Errorf("the value of %s: %w", k, err)
	}
	return k, value, nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// unquote returns the word bash assigns for w, which must need no expansion.
func unquote(w string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		switch c := w[i]; c {
		case '\'':
			end := strings.IndexByte(w[i+1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated single quote at column %d", i+1)
			}
			b.WriteString(w[i+1 : i+1+end])
			i += 1 + end
		case '"':
			j, err := doubleQuoted(&b, w, i+1)
			if err != nil {
				return "", err
			}
			i = j
		case '\\':
			if i+1 == len(w) {
				return "", errors.New("a backslash ends the line")
			}
			i++
			b.WriteByte(w[i])
		case '$', '`':
			return "", fmt.Errorf("%q at column %d would expand", c, i+1)
		case ' ', '\t', ';', '&', '|', '<', '>', '(', ')':
			return "", fmt.Errorf("unquoted %q at column %d", c, i+1)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// doubleQuoted appends the double-quoted part of w that starts at i, after its opening quote,
// and returns the index of its closing quote.
func doubleQuoted(b *strings.Builder, w string, i int) (int, error) {
	start := i - 1
	for ; i < len(w); i++ {
		switch c := w[i]; c {
		case '"':
			return i, nil
		case '\\':
			if i+1 < len(w) && strings.IndexByte("$`\"\\", w[i+1]) >= 0 {
				i++
				b.WriteByte(w[i])
			} else {
				b.WriteByte(c)
			}
		case '$', '`':
			return 0, fmt.Errorf("%q at column %d would expand", c, i+1)
		default:
			b.WriteByte(c)
		}
	}
	return 0, fmt.Errorf("unterminated double quote at column %d", start+1)
}
