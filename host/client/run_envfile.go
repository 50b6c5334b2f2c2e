package client

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"unicode"
)

// readKVFiles reads docker env/label files (KEY=VALUE lines, # comments)
// and appends the values given on the command line. With lookup, a bare
// KEY takes its value from the local environment and is dropped when unset.
func readKVFiles(files, values []string, lookup bool) ([]string, error) {
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		lines, err := parseKVFile(f, data, lookup)
		if err != nil {
			return nil, err
		}
		out = append(out, lines...)
	}
	for _, v := range values {
		if kv, ok := kvLookup(v, lookup); ok {
			out = append(out, kv)
		}
	}
	return out, nil
}

func parseKVFile(name string, data []byte, lookup bool) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeftFunc(sc.Text(), unicode.IsSpace)
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _ := strings.Cut(line, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid variable: %s:%d: no variable name", name, n)
		}
		if strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("variable '%s' contains whitespaces", k)
		}
		if kv, ok := kvLookup(line, lookup); ok {
			out = append(out, kv)
		}
	}
	return out, sc.Err()
}

func kvLookup(v string, lookup bool) (string, bool) {
	if strings.Contains(v, "=") || !lookup {
		return v, true
	}
	if val, ok := os.LookupEnv(v); ok {
		return v + "=" + val, true
	}
	return "", false
}

// kvMap turns KEY=VALUE strings into a map; a bare KEY maps to "".
func kvMap(kvs []string) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
