package api

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPage(t *testing.T) {
	for _, tc := range []struct {
		query         string
		offset, limit int
		bad           bool
	}{
		{"", 0, 50, false},
		{"offset=5&limit=10", 5, 10, false},
		{"limit=500", 0, 500, false},
		{"limit=0", 0, 0, true},
		{"limit=501", 0, 0, true},
		{"limit=ten", 0, 0, true},
		{"offset=-1", 0, 0, true},
		{"offset=1e3", 0, 0, true},
	} {
		o, l, err := page(httptest.NewRequest("GET", "/api/rooms?"+tc.query, nil))
		if tc.bad {
			if !errors.Is(err, errBadRequest) {
				t.Errorf("%q: err %v, want a bad request", tc.query, err)
			}
			continue
		}
		if err != nil || o != tc.offset || l != tc.limit {
			t.Errorf("%q = %d, %d, %v; want %d, %d", tc.query, o, l, err, tc.offset, tc.limit)
		}
	}
}

func TestDecode(t *testing.T) {
	type body struct {
		Name string `json:"name"`
	}
	for _, tc := range []struct {
		name, in, want string
		bad            bool
	}{
		{"empty keeps defaults", "", "default", false},
		{"field", `{"name":"x"}`, "x", false},
		{"unknown field", `{"nom":"x"}`, "", true},
		{"truncated", `{"name":`, "", true},
		{"wrong type", `{"name":1}`, "", true},
		{"too large", `{"name":"` + strings.Repeat("a", maxBody) + `"}`, "", true},
	} {
		v := body{Name: "default"}
		err := decode(httptest.NewRequest("POST", "/", strings.NewReader(tc.in)), &v)
		if tc.bad {
			if !errors.Is(err, errBadRequest) {
				t.Errorf("%s: err %v, want a bad request", tc.name, err)
			}
			continue
		}
		if err != nil || v.Name != tc.want {
			t.Errorf("%s: %+v, %v; want %q", tc.name, v, err, tc.want)
		}
	}
}
