package helm

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template"
)

// Reasons a chart cannot be rendered. They are CamelCase, for TemplateInstance status.reason.
const (
	// ReasonChartNotFound: the repository answers, but has no such chart or version.
	ReasonChartNotFound = "ChartNotFound"
	// ReasonChartDownloadFailed: the repository or the chart could not be downloaded. This
	// may pass, and is retried.
	ReasonChartDownloadFailed = "ChartDownloadFailed"
	// ReasonUnauthorized: the repository refused the credentials, or asked for some.
	ReasonUnauthorized = "Unauthorized"
	// ReasonChartInvalid: the archive is not a chart this server can render.
	ReasonChartInvalid = "ChartInvalid"
	// ReasonValuesInvalid: values, setValues or the release name are not accepted.
	ReasonValuesInvalid = "ValuesInvalid"
	// ReasonChartRenderFailed: the chart's templates failed to render.
	ReasonChartRenderFailed = "ChartRenderFailed"
)

// Fields of the Template that errors point at.
const (
	fieldRepository = "resources.helm.chart.repository"
	fieldVersion    = fieldRepository + ".version"
	fieldValues     = "resources.helm.values"
	fieldSetValues  = "resources.helm.setValues"
	fieldRelease    = "resources.helm.releaseName"
	fieldChart      = "resources.helm.chart"
)

func errorf(reason, field, format string, args ...any) error {
	return &template.Error{Reason: reason, Field: field, Message: fmt.Sprintf(format, args...)}
}

// fetchStatus matches the HTTP status Helm's HTTP getter puts in its errors.
var fetchStatus = regexp.MustCompile(`failed to fetch .* : (\d{3})\b`)

// statusOf returns the HTTP status code a download failed with, or 0.
func statusOf(err error) int {
	var resp *errcode.ErrorResponse
	switch {
	case errors.As(err, &resp):
		return resp.StatusCode
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		return http.StatusUnauthorized
	case errors.Is(err, errdef.ErrNotFound):
		return http.StatusNotFound
	}
	if m := fetchStatus.FindStringSubmatch(err.Error()); m != nil {
		code, _ := strconv.Atoi(m[1])
		return code
	}
	return 0
}

// downloadError classifies a failed download of what.
func downloadError(err error, what string) error {
	switch statusOf(err) {
	case http.StatusUnauthorized, http.StatusForbidden:
		return errorf(ReasonUnauthorized, fieldRepository, "downloading %s: %v", what, err)
	case http.StatusNotFound:
		return errorf(ReasonChartNotFound, fieldRepository, "downloading %s: %v", what, err)
	}
	return errorf(ReasonChartDownloadFailed, fieldRepository, "downloading %s: %v", what, err)
}

// Transient reports whether a reason may go away without a change to the Template.
func Transient(reason string) bool { return reason == ReasonChartDownloadFailed }
