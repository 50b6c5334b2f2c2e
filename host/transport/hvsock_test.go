package transport

import "testing"

func TestHvsockServiceID(t *testing.T) {
	tests := []struct {
		port uint32
		want string
	}{
		{1024, "00000400-facb-11e6-bd58-64006a7986d3"},
		{564, "00000234-facb-11e6-bd58-64006a7986d3"}, // Plan 9
		{109, "0000006d-facb-11e6-bd58-64006a7986d3"}, // hcsshim's GCS port
		{0xffffffff, "ffffffff-facb-11e6-bd58-64006a7986d3"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := HvsockServiceID(tt.port); got != tt.want {
				t.Errorf("HvsockServiceID(%d) = %s, want %s", tt.port, got, tt.want)
			}
			if p, err := HvsockPort(tt.want); err != nil || p != tt.port {
				t.Errorf("HvsockPort(%s) = %d, %v", tt.want, p, err)
			}
		})
	}
	for _, bad := range []string{"", "00000400-facb-11e6-bd58-64006a7986d4", "zzzzzzzz-facb-11e6-bd58-64006a7986d3"} {
		if _, err := HvsockPort(bad); err == nil {
			t.Errorf("HvsockPort(%q) succeeded", bad)
		}
	}
}
