package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"k8s.io/client-go/rest"
)

// ListResult holds the timings of one list scenario, all taken in turns in the same run.
type ListResult struct {
	// Spaces is the lister's GET /apis/tenancy.kiosk.sh/v1alpha1/spaces.
	Spaces Sample
	// Namespace is the lister's GET /api/v1/namespaces/<one of theirs>: the floor.
	Namespace Sample
	// AdminLimit10 is the admin's GET /api/v1/namespaces?limit=10.
	AdminLimit10 Sample
}

// List times, runs times each and in turns, the lister's list of Spaces against the two
// baselines, through kube-apiserver. Every answer is checked: the list must hold exactly the
// lister's Spaces.
func List(ctx context.Context, e *Env, p Population, runs int) (*ListResult, error) {
	lister, err := newGetter(e.As(p.Lister()))
	if err != nil {
		return nil, err
	}
	admin, err := newGetter(e.Admin())
	if err != nil {
		return nil, err
	}
	var want []string
	for _, i := range p.ListerNamespaces() {
		want = append(want, p.Namespace(i))
	}
	slices.Sort(want)
	one := want[len(want)/2]
	res := &ListResult{
		Spaces:       Sample{Name: fmt.Sprintf("%s: GET spaces (sees %d)", p.Lister(), ListerSpaces)},
		Namespace:    Sample{Name: fmt.Sprintf("%s: GET namespaces/%s (floor)", p.Lister(), one)},
		AdminLimit10: Sample{Name: "admin: GET namespaces?limit=10"},
	}
	check := func(body []byte) error {
		var list struct {
			Items []struct {
				Metadata struct{ Name string } `json:"metadata"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			return err
		}
		var got []string
		for _, it := range list.Items {
			got = append(got, it.Metadata.Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s listed Spaces %v, want %v", p.Lister(), got, want)
		}
		return nil
	}
	// One untimed round warms connections and caches.
	for i := -1; i < runs; i++ {
		body, d, err := lister.get(ctx, "/apis/tenancy.kiosk.sh/v1alpha1/spaces")
		if err != nil {
			return nil, err
		}
		if err := check(body); err != nil {
			return nil, err
		}
		_, d2, err := lister.get(ctx, "/api/v1/namespaces/"+one)
		if err != nil {
			return nil, err
		}
		_, d3, err := admin.get(ctx, "/api/v1/namespaces?limit=10")
		if err != nil {
			return nil, err
		}
		if i >= 0 {
			res.Spaces.Add(d)
			res.Namespace.Add(d2)
			res.AdminLimit10.Add(d3)
		}
	}
	return res, nil
}

// getter times GETs of one identity through kube-apiserver.
type getter struct {
	host   string
	client *http.Client
}

func newGetter(cfg *rest.Config) (*getter, error) {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	return &getter{host: cfg.Host, client: client}, nil
}

// get returns the body of a GET of path and how long it took until the whole body was read.
func (g *getter) get(ctx context.Context, path string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.host+path, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	d := time.Since(start)
	_ = resp.Body.Close()
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return body, d, nil
}
