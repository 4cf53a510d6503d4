// Package version holds the version of tenancy-apiserver, stamped at build time.
package version

import (
	"fmt"
	"runtime"
)

// These are set with -ldflags "-X github.com/tenancy-apiserver/tenancy-apiserver/pkg/version.gitVersion=..." by make build,
// which stamps gitCommit, gitTreeState and buildDate into k8s.io/component-base/version as well:
// the server's /version serves those.
var (
	gitVersion = "v0.0.0-dev"
	gitCommit  = "unknown"
	// gitTreeState is "clean" or "dirty": whether the tree had changes that gitCommit lacks.
	gitTreeState = ""
	buildDate    = "unknown"
)

// Info describes the running build.
type Info struct {
	GitVersion string `json:"gitVersion"`
	GitCommit  string `json:"gitCommit"`
	// GitTreeState is "clean", "dirty", or "" when the build did not say.
	GitTreeState string `json:"gitTreeState"`
	BuildDate    string `json:"buildDate"`
	GoVersion    string `json:"goVersion"`
	Platform     string `json:"platform"`
}

// Get returns the version of the running build.
func Get() Info {
	return Info{
		GitVersion:   gitVersion,
		GitCommit:    gitCommit,
		GitTreeState: gitTreeState,
		BuildDate:    buildDate,
		GoVersion:    runtime.Version(),
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// String prints the version in one line.
func (i Info) String() string {
	return fmt.Sprintf("tenancy-apiserver %s (commit %s, built %s, %s, %s)", i.GitVersion, i.GitCommit, i.BuildDate, i.GoVersion, i.Platform)
}
