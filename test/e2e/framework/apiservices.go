package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"time"
)

// apiServiceList is the part of an APIServiceList the harness reads.
type apiServiceList struct {
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Status struct {
			Conditions []struct {
				Type    string `json:"type"`
				Status  string `json:"status"`
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"conditions"`
		} `json:"status"`
	} `json:"items"`
}

// unavailableAPIServices lists every APIService that is not Available, with its reason.
func (c *Cluster) unavailableAPIServices(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, c.KubectlPath, "--kubeconfig", c.Kubeconfig, "get", "apiservices",
		"-o", "json", "--request-timeout=10s").Output()
	if err != nil {
		return nil, fmt.Errorf("listing APIServices: %w", err)
	}
	var list apiServiceList
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("decoding APIServices: %w", err)
	}
	var missing []string
	for _, item := range list.Items {
		available := false
		reason := "no Available condition"
		for _, cond := range item.Status.Conditions {
			if cond.Type == "Available" {
				available = cond.Status == "True"
				reason = cond.Reason
			}
		}
		if !available {
			missing = append(missing, item.Metadata.Name+" ("+reason+")")
		}
	}
	sort.Strings(missing)
	return missing, nil
}

// servedGroups are the API groups of this server that kube-apiserver's discovery must list.
var servedGroups = []string{"config.kiosk.sh", "tenancy.kiosk.sh"}

// undiscoveredGroups lists the groups of this server that kube-apiserver's discovery (/apis)
// does not list with a preferred version: kube-apiserver refreshes it apart from the
// APIServices' availability, so kubectl may not know a group for a moment after a restart.
func (c *Cluster) undiscoveredGroups(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, c.KubectlPath, "--kubeconfig", c.Kubeconfig, "get", "--raw", "/apis",
		"--request-timeout=10s").Output()
	if err != nil {
		return nil, fmt.Errorf("reading /apis: %w", err)
	}
	var list struct {
		Groups []struct {
			Name             string `json:"name"`
			PreferredVersion struct {
				Version string `json:"version"`
			} `json:"preferredVersion"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("decoding /apis: %w", err)
	}
	var missing []string
	for _, want := range servedGroups {
		found := false
		for _, g := range list.Groups {
			found = found || (g.Name == want && g.PreferredVersion.Version != "")
		}
		if !found {
			missing = append(missing, want+" (not in discovery)")
		}
	}
	return missing, nil
}

// WaitAPIServicesAvailable waits until every APIService is Available and kube-apiserver's
// discovery lists this server's groups.
func (c *Cluster) WaitAPIServicesAvailable(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last []string
	for {
		missing, err := c.unavailableAPIServices(ctx)
		if err == nil && len(missing) == 0 {
			missing, err = c.undiscoveredGroups(ctx)
		}
		if err == nil && len(missing) == 0 {
			return nil
		}
		if err == nil {
			last = missing
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("APIServices not Available after %s: %v (last error: %v)", timeout, last, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
