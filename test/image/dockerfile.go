// Package image checks the product's image that make image packs without Docker against the
// image the Dockerfile declares.
package image

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// Stage is what a Dockerfile's final stage declares about the image it makes.
type Stage struct {
	// Base is the FROM image.
	Base string
	// Copies maps each COPY destination to its sources.
	Copies map[string]string
	// Labels, after build-argument substitution.
	Labels map[string]string
	// User and Entrypoint (exec form) of the process.
	User       string
	Entrypoint []string
	Env        map[string]string
}

// ParseFinalStage reads the Dockerfile at path and returns its last stage, with ${ARG} and
// $ARG replaced by args, else by the stage's ARG defaults.
func ParseFinalStage(path string, args map[string]string) (Stage, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stage{}, err
	}
	defer f.Close()
	instructions, err := instructions(f)
	if err != nil {
		return Stage{}, fmt.Errorf("%s: %w", path, err)
	}
	var st Stage
	var vars map[string]string
	for _, in := range instructions {
		keyword, rest, _ := strings.Cut(in, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(keyword) {
		case "FROM":
			st = Stage{Base: strings.Fields(rest)[0], Copies: map[string]string{}, Labels: map[string]string{}, Env: map[string]string{}}
			vars = map[string]string{}
		case "ARG":
			name, def, _ := strings.Cut(rest, "=")
			if v, ok := args[name]; ok {
				def = v
			}
			vars[name] = unquote(def)
		case "LABEL", "ENV":
			pairs, err := keyValues(expand(rest, vars))
			if err != nil {
				return Stage{}, fmt.Errorf("%s: %s: %w", path, in, err)
			}
			target := st.Labels
			if strings.ToUpper(keyword) == "ENV" {
				target = st.Env
			}
			for k, v := range pairs {
				target[k] = v
			}
		case "COPY", "ADD":
			words := strings.Fields(expand(rest, vars))
			for len(words) > 0 && strings.HasPrefix(words[0], "--") {
				words = words[1:]
			}
			if len(words) < 2 {
				return Stage{}, fmt.Errorf("%s: %s: want sources and a destination", path, in)
			}
			st.Copies[words[len(words)-1]] = strings.Join(words[:len(words)-1], " ")
		case "USER":
			st.User = expand(rest, vars)
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &st.Entrypoint); err != nil {
				return Stage{}, fmt.Errorf("%s: ENTRYPOINT %s: only the exec form is supported: %w", path, rest, err)
			}
		}
	}
	if st.Base == "" {
		return Stage{}, fmt.Errorf("%s: no FROM", path)
	}
	return st, nil
}

// instructions joins continued lines and drops comments and blank lines.
func instructions(r io.Reader) ([]string, error) {
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		out = append(out, strings.TrimSpace(cur.String()))
		cur.Reset()
	}
	return out, sc.Err()
}

var variable = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

func expand(s string, vars map[string]string) string {
	return variable.ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m, "${}")
		return vars[name]
	})
}

// keyValue is one key=value pair, the value optionally double-quoted.
var keyValue = regexp.MustCompile(`^\s*([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)`)

func keyValues(s string) (map[string]string, error) {
	out := map[string]string{}
	for strings.TrimSpace(s) != "" {
		m := keyValue.FindStringSubmatchIndex(s)
		if m == nil {
			return nil, fmt.Errorf("want key=value pairs at %q", s)
		}
		out[s[m[2]:m[3]]] = unquote(s[m[4]:m[5]])
		s = s[m[1]:]
	}
	return out, nil
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `\"`, `"`)
	}
	return s
}
