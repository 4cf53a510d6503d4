package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
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

// servedResources are a resource of each API group of this server, as kubectl names them.
var servedResources = map[string]string{
	"config.kiosk.sh":  "accounts.config.kiosk.sh",
	"tenancy.kiosk.sh": "spaces.tenancy.kiosk.sh",
}

// undiscoveredGroups lists the groups of this server whose resources kubectl does not find
// in kube-apiserver's discovery. kube-apiserver refreshes its aggregated discovery apart
// from the APIServices' availability, so kubectl may not know a kind for a moment after a
// restart. kubectl api-resources reads discovery afresh and rewrites kubectl's discovery
// cache, which the tests' later kubectl commands read.
func (c *Cluster) undiscoveredGroups(ctx context.Context) ([]string, error) {
	var missing []string
	for group, resource := range servedResources {
		out, err := exec.CommandContext(ctx, c.KubectlPath, "--kubeconfig", c.Kubeconfig, "api-resources",
			"--api-group="+group, "-o", "name", "--request-timeout=10s").Output()
		if err != nil {
			return nil, fmt.Errorf("kubectl api-resources --api-group=%s: %w", group, err)
		}
		if !strings.Contains("\n"+string(out), "\n"+resource+"\n") {
			missing = append(missing, group+" (not in discovery)")
		}
	}
	// kubectl apply validates against kube-apiserver's OpenAPI v3, which takes the groups in
	// later still; a kind missing there makes kubectl look for a CRD instead, which tenants
	// may not list.
	openapi, err := exec.CommandContext(ctx, c.KubectlPath, "--kubeconfig", c.Kubeconfig, "get", "--raw", "/openapi/v3",
		"--request-timeout=10s").Output()
	if err != nil {
		return nil, fmt.Errorf("kubectl get --raw /openapi/v3: %w", err)
	}
	for group := range servedResources {
		if !strings.Contains(string(openapi), `"apis/`+group+`/v1alpha1"`) {
			missing = append(missing, group+" (not in OpenAPI v3)")
		}
	}
	sort.Strings(missing)
	return missing, nil
}

// WaitAPIServicesAvailable waits until every APIService is Available and kube-apiserver's
// discovery and OpenAPI v3 list this server's groups.
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
