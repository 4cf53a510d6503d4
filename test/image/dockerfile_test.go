package image

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseFinalStage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(path, []byte(`# two stages
FROM golang AS build
ARG VERSION=ignored
COPY . /src
LABEL stage=build

FROM base:nonroot
ARG VERSION=v0
ARG COMMIT=none
LABEL a="x y" \
      b=${VERSION} \
      c="$COMMIT-1"
ENV K=v
COPY --from=build /src/bin /bin/server
USER 65534:65534
ENTRYPOINT ["/bin/server", "--flag"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := ParseFinalStage(path, map[string]string{"VERSION": "v1"})
	if err != nil {
		t.Fatal(err)
	}
	want := Stage{Base: "base:nonroot", Copies: map[string]string{"/bin/server": "/src/bin"},
		Labels: map[string]string{"a": "x y", "b": "v1", "c": "none-1"}, Env: map[string]string{"K": "v"},
		User: "65534:65534", Entrypoint: []string{"/bin/server", "--flag"}}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("stage =\n%+v\nwant\n%+v", st, want)
	}

	if err := os.WriteFile(path, []byte("FROM x\nENTRYPOINT /bin/sh -c x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseFinalStage(path, nil); err == nil {
		t.Error("the shell form of ENTRYPOINT was accepted")
	}
}
