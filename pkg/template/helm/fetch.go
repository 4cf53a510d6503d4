package helm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"helm.sh/helm/v4/pkg/getter"
	"helm.sh/helm/v4/pkg/registry"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"oras.land/oras-go/v2/registry/remote/auth"
	"sigs.k8s.io/yaml"
)

// Source says where a chart comes from: an HTTP chart repository that serves index.yaml, or
// an OCI registry.
type Source struct {
	// RepoURL is the repository: https://… (or http://…) for a chart repository, or
	// oci://host/path for a registry. It may be empty when Name is an oci:// reference.
	RepoURL string
	// Name is the chart's name in the repository, or a whole oci://host/path/chart reference.
	Name string
	// Version is an exact version, a range such as ^1.2, or empty for the latest.
	Version string
	// Username and Password are sent to the repository, and only to its host.
	Username, Password string
}

func isOCI(s string) bool { return strings.HasPrefix(s, registry.OCIScheme+"://") }

// ociReference is the chart's oci:// reference, or "" when it is in an HTTP repository.
func (s Source) ociReference() string {
	switch {
	case isOCI(s.Name):
		return s.Name
	case isOCI(s.RepoURL):
		return strings.TrimSuffix(s.RepoURL, "/") + "/" + s.Name
	}
	return ""
}

// String names the chart for messages, never with credentials.
func (s Source) String() string {
	if ref := s.ociReference(); ref != "" {
		return ref
	}
	return fmt.Sprintf("chart %s from %s", s.Name, s.RepoURL)
}

// exact reports whether the version names one version rather than a range or the latest.
func exact(version string) bool {
	return version != "" && !strings.ContainsAny(version, " <>=~^*|,xX")
}

// splitTag splits a registry reference (without oci://) into the repository and its tag.
func splitTag(ref string) (string, string) {
	if at := strings.LastIndex(ref, ":"); at > strings.LastIndex(ref, "/") && !strings.Contains(ref, "@") {
		return ref[:at], ref[at+1:]
	}
	return ref, ""
}

// cacheKey identifies an archive by repository, name, version and credentials: a Template
// without credentials never receives a chart that another downloaded with some. The two
// spellings of an OCI chart (a whole reference, or repoUrl and name) share entries.
func (s Source) cacheKey(version string) string {
	creds := sha256.Sum256([]byte(s.Username + "\x00" + s.Password))
	location := []string{s.RepoURL, s.Name}
	if ref := s.ociReference(); ref != "" {
		repository, _ := splitTag(ref)
		location = []string{repository, ""}
	}
	return strings.Join(append(location, version, hex.EncodeToString(creds[:8])), "\x00")
}

// fetch returns the chart archive, from the cache or downloaded.
func (r *Renderer) fetch(ctx context.Context, src Source) ([]byte, error) {
	if exact(src.Version) {
		if data, ok := r.cache.Get(src.cacheKey(src.Version)); ok {
			return data, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if src.ociReference() != "" {
		return r.fetchOCI(src)
	}
	return r.fetchHTTP(src)
}

// download runs one download per key at a time and caches what it returns.
func (r *Renderer) download(key string, get func() ([]byte, error)) ([]byte, error) {
	if data, ok := r.cache.Get(key); ok {
		return data, nil
	}
	v, err, _ := r.inflight.Do(key, func() (any, error) {
		data, err := get()
		if err == nil {
			r.cache.Add(key, data)
		}
		return data, err
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

func (r *Renderer) httpGetter() (getter.Getter, error) {
	opts := []getter.Option{getter.WithTimeout(r.opts.Timeout)}
	if r.opts.Transport != nil {
		opts = append(opts, getter.WithTransport(r.opts.Transport))
	}
	return getter.NewHTTPGetter(opts...)
}

// fetchHTTP reads the repository's index, picks the version and downloads its archive.
func (r *Renderer) fetchHTTP(src Source) ([]byte, error) {
	g, err := r.httpGetter()
	if err != nil {
		return nil, errorf(ReasonChartDownloadFailed, fieldRepository, "%v", err)
	}
	auth := []getter.Option{getter.WithURL(src.RepoURL), getter.WithBasicAuth(src.Username, src.Password)}
	indexURL, err := repo.ResolveReferenceURL(src.RepoURL, "index.yaml")
	if err != nil {
		return nil, errorf(ReasonChartDownloadFailed, fieldRepository+".repoUrl", "%v", err)
	}
	raw, err := g.Get(indexURL, auth...)
	if err != nil {
		return nil, downloadError(err, "the index of "+src.RepoURL)
	}
	index := &repo.IndexFile{}
	if err := yaml.Unmarshal(raw.Bytes(), index); err != nil || index.APIVersion == "" {
		return nil, errorf(ReasonChartDownloadFailed, fieldRepository+".repoUrl", "%s is not a chart repository: its index.yaml cannot be read (%v)", src.RepoURL, err)
	}
	index.SortEntries()
	cv, err := index.Get(src.Name, src.Version)
	if err != nil {
		return nil, notInIndex(index, src)
	}
	if len(cv.URLs) == 0 {
		return nil, errorf(ReasonChartInvalid, fieldRepository, "the index of %s lists no URL for %s %s", src.RepoURL, src.Name, cv.Version)
	}
	key := src.cacheKey(cv.Version)
	if exact(src.Version) {
		key = src.cacheKey(src.Version)
	}
	return r.download(key, func() ([]byte, error) {
		chartURL, err := repo.ResolveReferenceURL(src.RepoURL, cv.URLs[0])
		if err != nil {
			return nil, errorf(ReasonChartInvalid, fieldRepository, "the URL of %s %s: %v", src.Name, cv.Version, err)
		}
		archive, err := g.Get(chartURL, auth...)
		if err != nil {
			return nil, downloadError(err, fmt.Sprintf("%s %s", src.Name, cv.Version))
		}
		if cv.Digest != "" {
			sum := sha256.Sum256(archive.Bytes())
			if hex.EncodeToString(sum[:]) != cv.Digest {
				return nil, errorf(ReasonChartDownloadFailed, fieldRepository, "%s %s from %s does not match the digest in the index", src.Name, cv.Version, chartURL)
			}
		}
		return archive.Bytes(), nil
	})
}

// notInIndex says which versions the repository has, so that a wrong version is easy to fix.
func notInIndex(index *repo.IndexFile, src Source) error {
	versions := index.Entries[src.Name]
	if len(versions) == 0 {
		return errorf(ReasonChartNotFound, fieldRepository+".name", "the repository %s has no chart %s", src.RepoURL, src.Name)
	}
	var have []string
	for i, v := range versions {
		if i == 10 {
			have = append(have, "…")
			break
		}
		have = append(have, v.Version)
	}
	want := src.Version
	if want == "" {
		want = "(latest)"
	}
	return errorf(ReasonChartNotFound, fieldVersion, "the repository %s has no version %s of chart %s; it has %s",
		src.RepoURL, want, src.Name, strings.Join(have, ", "))
}

// registryClient talks to an OCI registry with the Template's credentials only: the server's
// own Docker or Helm credential files are never read.
func (r *Renderer) registryClient(src Source) (*registry.Client, error) {
	httpClient := &http.Client{Timeout: r.opts.Timeout}
	if r.opts.Transport != nil {
		httpClient.Transport = r.opts.Transport
	}
	credential := auth.EmptyCredential
	if src.Username != "" || src.Password != "" {
		credential = auth.Credential{Username: src.Username, Password: src.Password}
	}
	authorizer := auth.Client{Client: httpClient, Cache: auth.NewCache(),
		Credential: func(context.Context, string) (auth.Credential, error) { return credential, nil }}
	authorizer.SetUserAgent("tenancy-apiserver")
	return registry.NewClient(registry.ClientOptHTTPClient(httpClient), registry.ClientOptAuthorizer(authorizer))
}

// fetchOCI resolves the tag (the latest, or the highest in a range) and pulls the chart.
func (r *Renderer) fetchOCI(src Source) ([]byte, error) {
	client, err := r.registryClient(src)
	if err != nil {
		return nil, errorf(ReasonChartDownloadFailed, fieldRepository, "%v", err)
	}
	ref := strings.TrimPrefix(src.ociReference(), registry.OCIScheme+"://")
	if strings.Contains(ref, "@") { // a digest names the content itself
		return r.download(src.cacheKey(ref), func() ([]byte, error) { return pull(client, ref, src.ociReference()) })
	}
	tag := src.Version
	if repository, inRef := splitTag(ref); inRef != "" {
		if tag != "" && tag != inRef {
			return nil, errorf(ReasonValuesInvalid, fieldVersion, "is %q, but the reference %s names %q", tag, src.ociReference(), inRef)
		}
		ref, tag = repository, inRef
	}
	if !exact(tag) {
		tags, err := client.Tags(ref)
		if err != nil {
			return nil, downloadError(err, "the tags of "+src.ociReference())
		}
		if tag, err = registry.GetTagMatchingVersionOrConstraint(tags, tag); err != nil {
			return nil, errorf(ReasonChartNotFound, fieldVersion, "%s has no version %q: %v", src.ociReference(), src.Version, err)
		}
	}
	return r.download(src.cacheKey(tag), func() ([]byte, error) {
		return pull(client, ref+":"+tag, src.ociReference()+":"+tag)
	})
}

func pull(client *registry.Client, ref, what string) ([]byte, error) {
	result, err := client.Pull(ref)
	if err != nil {
		return nil, downloadError(err, what)
	}
	return result.Chart.Data, nil
}
