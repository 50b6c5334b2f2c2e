package client

import (
	"bytes"
	"strings"
	"testing"
)

type testRow struct {
	Name  string
	Value string
}

func TestListFormat(t *testing.T) {
	rows := []any{testRow{"alpha", "1"}, testRow{"a-much-longer-name", "<two>"}}
	header := map[string]string{"Name": "NAME", "Value": "VALUE"}
	tests := []struct {
		name, format, want string
	}{
		{
			name:   "table aligns columns with docker's padding",
			format: "table {{.Name}}\t{{.Value}}",
			want: "NAME                 VALUE\n" +
				"alpha                1\n" +
				"a-much-longer-name   <two>\n",
		},
		{
			name:   "table with escaped tab as typed on a command line",
			format: `table {{.Value}}\t{{.Name}}`,
			want: "VALUE     NAME\n" +
				"1         alpha\n" +
				"<two>     a-much-longer-name\n",
		},
		{
			name:   "plain template, no header",
			format: "{{.Name}}={{.Value}}",
			want:   "alpha=1\na-much-longer-name=<two>\n",
		},
		{
			name:   "json, one object per line, HTML not escaped",
			format: "json",
			want:   `{"Name":"alpha","Value":"1"}` + "\n" + `{"Name":"a-much-longer-name","Value":"<two>"}` + "\n",
		},
		{
			name:   "functions work in rows and leave headers alone",
			format: "table {{upper .Name}}\t{{json .Value}}",
			want: "NAME                 VALUE\n" +
				"ALPHA                \"1\"\n" +
				"A-MUCH-LONGER-NAME   \"<two>\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := (listFormat{Format: tt.format, Header: header}).Write(&b, rows); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tt.want)
			}
		})
	}
}

func TestListFormatErrors(t *testing.T) {
	tests := []struct{ name, format, want string }{
		{"unclosed action", "{{.Name", "template parsing error"},
		{"unknown field", "{{.Nope}}", "can't evaluate field Nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (listFormat{Format: tt.format}).Write(&bytes.Buffer{}, []any{testRow{"a", "b"}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
