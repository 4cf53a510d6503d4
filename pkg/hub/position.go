package hub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
)

// Local is the name under which a Position records the hub's own cluster.
const Local = ""

// positionPrefix starts every composite resourceVersion. A resourceVersion without it is
// the hub's own, as a server without members writes it.
const positionPrefix = "mc1."

// Position is where a merged list or watch stands in each cluster: the resourceVersion of
// each cluster's own answer, by cluster name, the hub's own under Local. A cluster that is
// missing was not answering then.
type Position map[string]string

// String encodes the position as an opaque resourceVersion. A position of the hub's own
// cluster alone is its plain resourceVersion, so that a hub without members answers as a
// single server does.
func (p Position) String() string {
	if len(p) == 0 {
		return ""
	}
	if rv, ok := p[Local]; ok && len(p) == 1 {
		return rv
	}
	data, _ := json.Marshal(map[string]string(p)) // a map of strings always marshals, keys sorted
	return positionPrefix + base64.RawURLEncoding.EncodeToString(data)
}

// With returns a copy of p with cluster at rv; rv "" removes the cluster.
func (p Position) With(cluster, rv string) Position {
	q := maps.Clone(p)
	if q == nil {
		q = Position{}
	}
	if rv == "" {
		delete(q, cluster)
	} else {
		q[cluster] = rv
	}
	return q
}

// ParsePosition decodes a resourceVersion written by String. "" and "0" are the empty
// position; a plain resourceVersion is the hub's own.
func ParsePosition(rv string) (Position, error) {
	if rv == "" || rv == "0" {
		return Position{}, nil
	}
	encoded, ok := strings.CutPrefix(rv, positionPrefix)
	if !ok {
		return Position{Local: rv}, nil
	}
	data, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("not a resourceVersion of this hub: %w", err)
	}
	p := Position{}
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("not a resourceVersion of this hub: %w", err)
	}
	for cluster, v := range p {
		if v == "" || strings.HasPrefix(v, positionPrefix) {
			return nil, fmt.Errorf("not a resourceVersion of this hub: cluster %q has position %q", cluster, v)
		}
	}
	return p, nil
}
