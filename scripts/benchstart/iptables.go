package main

import (
	"fmt"
	"strings"
)

// forwardPolicy finds the FORWARD chain's policy in `iptables -S` output
// ("-P FORWARD ACCEPT" gives "ACCEPT").
func forwardPolicy(rules []string) (string, bool) {
	for _, r := range rules {
		f := strings.Fields(r)
		if len(f) == 3 && f[0] == "-P" && f[1] == "FORWARD" {
			return f[2], true
		}
	}
	return "", false
}

// dockerCleanup returns the iptables arguments (for one table) that undo
// what dockerd added between two `iptables -t TABLE -S` listings: rules
// that are new and mention DOCKER or docker0 are deleted, then chains that
// are new and named DOCKER* are flushed and removed. Rules and chains that
// existed before are left alone, and so is anything else added meanwhile.
func dockerCleanup(before, after []string) ([][]string, error) {
	had := map[string]bool{}
	for _, r := range before {
		had[strings.TrimSpace(r)] = true
	}
	var dels, chains [][]string
	for _, r := range after {
		r = strings.TrimSpace(r)
		if had[r] || !(strings.Contains(r, "DOCKER") || strings.Contains(r, "docker0")) {
			continue
		}
		args, err := splitRule(r)
		if err != nil {
			return nil, err
		}
		switch {
		case len(args) >= 2 && args[0] == "-A":
			dels = append(dels, append([]string{"-D"}, args[1:]...))
		case len(args) == 2 && args[0] == "-N" && strings.HasPrefix(args[1], "DOCKER"):
			chains = append(chains, args[1:])
		}
	}
	out := dels
	for _, c := range chains {
		out = append(out, []string{"-F", c[0]})
	}
	for _, c := range chains {
		out = append(out, []string{"-X", c[0]})
	}
	return out, nil
}

// splitRule splits one line of `iptables -S` into arguments: words
// separated by spaces, with "double-quoted" words (comments) kept whole
// and \" and \\ unescaped inside quotes.
func splitRule(line string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\'):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			quoted = !quoted
			inWord = true
		case !quoted && (c == ' ' || c == '\t'):
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("iptables rule %q: unbalanced quote", line)
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}
