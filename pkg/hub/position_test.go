package hub

import (
	"testing"
)

func TestPositionRoundTrip(t *testing.T) {
	for _, p := range []Position{
		{Local: "12"},
		{Local: "12", "member": "7"},
		{"member": "7", "other": "9"},
	} {
		got, err := ParsePosition(p.String())
		if err != nil {
			t.Fatalf("ParsePosition(%q): %v", p.String(), err)
		}
		if len(got) != len(p) {
			t.Fatalf("ParsePosition(%q) = %v, want %v", p.String(), got, p)
		}
		for k, v := range p {
			if got[k] != v {
				t.Fatalf("ParsePosition(%q) = %v, want %v", p.String(), got, p)
			}
		}
	}
}

func TestPositionOfTheHubAloneIsPlain(t *testing.T) {
	if got := (Position{Local: "42"}).String(); got != "42" {
		t.Fatalf("String() = %q, want the plain resourceVersion 42", got)
	}
	if p, err := ParsePosition("42"); err != nil || len(p) != 1 || p[Local] != "42" {
		t.Fatalf("ParsePosition(42) = %v, %v", p, err)
	}
	for _, rv := range []string{"", "0"} {
		if p, err := ParsePosition(rv); err != nil || len(p) != 0 {
			t.Fatalf("ParsePosition(%q) = %v, %v, want the empty position", rv, p, err)
		}
	}
}

func TestPositionRefusesForgeries(t *testing.T) {
	for _, rv := range []string{"mc1.!!", "mc1.bm90IGpzb24", "mc1." + "eyJtIjoiIn0"} {
		if _, err := ParsePosition(rv); err == nil {
			t.Errorf("ParsePosition(%q) succeeded, want an error", rv)
		}
	}
}
