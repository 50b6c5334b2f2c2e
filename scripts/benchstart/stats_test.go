package main

import (
	"strings"
	"testing"
	"time"
)

func ms(v ...float64) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x * float64(time.Millisecond))
	}
	return out
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"empty", nil, 0},
		{"one", ms(7), 7 * time.Millisecond},
		{"odd unsorted", ms(30, 10, 20), 20 * time.Millisecond},
		{"even takes the mean of the middle two", ms(40, 10, 30, 20), 25 * time.Millisecond},
		{"outliers do not move it", ms(1, 20, 21, 22, 5000), 21 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tc.in...)
			if got := median(tc.in); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.in[i] {
					t.Fatalf("median reordered its input: %v, was %v", tc.in, in)
				}
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ten := ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5)
	for _, tc := range []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 90, 0},
		{"p90 of ten", ten, 90, 9 * time.Millisecond},
		{"p100 is the max", ten, 100, 10 * time.Millisecond},
		{"p50 nearest rank", ten, 50, 5 * time.Millisecond},
		{"tiny p is the min", ten, 0.1, 1 * time.Millisecond},
		{"p0 clamps to the min", ten, 0, 1 * time.Millisecond},
		{"one value", ms(3), 90, 3 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.in, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
			}
		})
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct {
		name, got, want string
	}{
		{"ms", fmtDur(21449 * time.Microsecond), "21.4 ms"},
		{"sub-ms", fmtDur(450 * time.Microsecond), "0.5 ms"},
		{"just under 10 s", fmtDur(9999 * time.Millisecond), "9999.0 ms"},
		{"seconds", fmtDur(12310 * time.Millisecond), "12.31 s"},
		{"ratio", ratio(33*time.Millisecond, 22*time.Millisecond), "1.50x"},
		{"ratio below one", ratio(11*time.Millisecond, 22*time.Millisecond), "0.50x"},
		{"ratio of nothing", ratio(time.Second, 0), "n/a"},
		{"verdict met", verdict(true, true), "ok"},
		{"verdict missed", verdict(true, false), "MISSED"},
		{"verdict unknown", verdict(false, true), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestStartGoals(t *testing.T) {
	find := func(gs []goal, what string) (goal, bool) {
		for _, g := range gs {
			if g.what == what {
				return g, true
			}
		}
		return goal{}, false
	}
	const noneVsCrun = "berth run --rm (none) / bare crun run"
	const bridge = "berth run --rm (bridge) median"
	const dockerVsBerth = "docker run --rm (bridge) / berth run --rm (bridge)"
	d := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	for _, tc := range []struct {
		name                       string
		none, br, crun, dNone, dBr time.Duration
		want                       map[string]string // what -> "figure status"; "" = absent
	}{
		{"all met", d(30), d(60), d(22), d(600), d(650), map[string]string{
			noneVsCrun: "1.36x ok", bridge: "60.0 ms ok", dockerVsBerth: "10.83x ok"}},
		{"exactly 1.5x is met", d(33), d(99.9), d(22), 0, 0, map[string]string{
			noneVsCrun: "1.50x ok", bridge: "99.9 ms ok", dockerVsBerth: ""}},
		{"all missed", d(40), d(100), d(22), 0, d(400), map[string]string{
			noneVsCrun: "1.82x MISSED", bridge: "100.0 ms MISSED", dockerVsBerth: "4.00x MISSED"}},
		{"nothing measured", 0, 0, 0, 0, 0, map[string]string{noneVsCrun: "", bridge: "", dockerVsBerth: ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gs := startGoals(tc.none, tc.br, tc.crun, tc.dNone, tc.dBr)
			for what, want := range tc.want {
				g, ok := find(gs, what)
				got := ""
				if ok {
					got = g.figure + " " + g.status
				}
				if got != want {
					t.Errorf("%s: got %q, want %q", what, got, want)
				}
			}
		})
	}
}

func TestPrintTableAndGoals(t *testing.T) {
	var sb strings.Builder
	printTable(&sb, []series{{"crun run", ms(20, 22, 24)}, {"skipped", nil}})
	printGoals(&sb, []goal{{"berth ps median", "12.0 ms", "< 50 ms", "ok"}, {"info only", "2.00x", "", ""}})
	out := sb.String()
	for _, want := range []string{"PATH", "MEDIAN", "crun run", "22.0 ms", "24.0 ms", "(goal < 50 ms)", "info only"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "skipped") {
		t.Errorf("a series without runs was printed:\n%s", out)
	}
	if strings.Contains(out, "2.00x  (goal") {
		t.Errorf("a goal-less figure got a goal column:\n%s", out)
	}
}
