package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
)

// spaceTable is a Table as the server makes it for Spaces, with a column for -o wide only.
func spaceTable() *metav1.Table {
	return &metav1.Table{
		TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"},
		ColumnDefinitions: []metav1.TableColumnDefinition{
			{Name: "Name", Type: "string", Format: "name"},
			{Name: "Account", Type: "string"},
			{Name: "Phase", Type: "string"},
			{Name: "Age", Type: "string"},
			{Name: "Labels", Type: "string", Priority: 1},
		},
		Rows: []metav1.TableRow{
			{Cells: []interface{}{"web", "node-account", "Active", "5m", "team=web"}},
			{Cells: []interface{}{"db", "node-account", "Terminating", "2d", "<none>"}},
		},
	}
}

func spaceList() *tenancyv1alpha1.SpaceList {
	return &tenancyv1alpha1.SpaceList{Items: []tenancyv1alpha1.Space{
		{ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: "7",
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
			Spec: tenancyv1alpha1.SpaceSpec{Account: "node-account"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: tenancyv1alpha1.SpaceSpec{Account: "node-account"}},
	}}
}

func outputFlags(t *testing.T, format string, noHeaders bool) *OutputFlags {
	t.Helper()
	o := NewOutputFlags()
	*o.Print.OutputFormat = format
	o.NoHeaders = noHeaders
	require.NoError(t, o.Validate())
	return o
}

func TestOutputFormats(t *testing.T) {
	table := "NAME   ACCOUNT        PHASE         AGE\n" +
		"web    node-account   Active        5m\n" +
		"db     node-account   Terminating   2d\n"
	wide := "NAME   ACCOUNT        PHASE         AGE   LABELS\n" +
		"web    node-account   Active        5m    team=web\n" +
		"db     node-account   Terminating   2d    <none>\n"
	for _, tc := range []struct {
		format    string
		noHeaders bool
		want      string
	}{
		{format: "", want: table},
		{format: "table", want: table},
		{format: "wide", want: wide},
		{format: "", noHeaders: true, want: "web   node-account   Active        5m\ndb    node-account   Terminating   2d\n"},
		{format: "name", want: "space.tenancy.kiosk.sh/web\nspace.tenancy.kiosk.sh/db\n"},
		{format: "jsonpath={.items[*].spec.account}", want: "node-account node-account"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			o := outputFlags(t, tc.format, tc.noHeaders)
			var out, errOut bytes.Buffer
			if o.IsTable() {
				require.NoError(t, o.PrintTable(spaceTable(), &out, &errOut))
			} else {
				require.NoError(t, o.PrintObject(spaceList(), &out))
			}
			assert.Equal(t, tc.want, out.String())
			assert.Empty(t, errOut.String())
		})
	}
}

// -o json and -o yaml print a v1 List of the items with their apiVersion and kind, without
// managed fields, as kubectl get does.
func TestOutputFormatsJSONAndYAML(t *testing.T) {
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, outputFlags(t, format, false).PrintObject(spaceList(), &out))
			data := out.Bytes()
			if format == "yaml" {
				assert.True(t, strings.HasPrefix(out.String(), "apiVersion: v1\nitems:\n- apiVersion: tenancy.kiosk.sh/v1alpha1\n"), out.String())
				var err error
				data, err = yaml.YAMLToJSON(data)
				require.NoError(t, err)
			}
			var got struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Items      []struct {
					APIVersion string                    `json:"apiVersion"`
					Kind       string                    `json:"kind"`
					Metadata   map[string]interface{}    `json:"metadata"`
					Spec       tenancyv1alpha1.SpaceSpec `json:"spec"`
				} `json:"items"`
			}
			require.NoError(t, json.Unmarshal(data, &got), out.String())
			assert.Equal(t, "v1", got.APIVersion)
			assert.Equal(t, "List", got.Kind)
			require.Len(t, got.Items, 2)
			for i, name := range []string{"web", "db"} {
				assert.Equal(t, "tenancy.kiosk.sh/v1alpha1", got.Items[i].APIVersion)
				assert.Equal(t, "Space", got.Items[i].Kind)
				assert.Equal(t, name, got.Items[i].Metadata["name"])
				assert.NotContains(t, got.Items[i].Metadata, "managedFields")
				assert.Equal(t, "node-account", got.Items[i].Spec.Account)
			}
		})
	}
}

func TestOutputFormatInvalid(t *testing.T) {
	o := NewOutputFlags()
	*o.Print.OutputFormat = "xml"
	err := o.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unable to match a printer suitable for the output format "xml"`)
}

func TestPrintTableEmpty(t *testing.T) {
	var out, errOut bytes.Buffer
	table := spaceTable()
	table.Rows = nil
	require.NoError(t, outputFlags(t, "", false).PrintTable(table, &out, &errOut))
	assert.Empty(t, out.String())
	assert.Equal(t, "No resources found\n", errOut.String())
}

// PrintList asks the server for a Table for a table output, as kubectl get does, and for the
// objects otherwise, with the label selector either way.
func TestPrintList(t *testing.T) {
	var accepts []string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apis/tenancy.kiosk.sh/v1alpha1/spaces" || r.URL.Query().Get("labelSelector") != "team=web" {
			http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		accepts = append(accepts, r.Header.Get("Accept"))
		var body interface{} = spaceList()
		if strings.Contains(r.Header.Get("Accept"), "as=Table") {
			body = spaceTable()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}))
	defer server.Close()
	c, err := versioned.NewForConfig(&rest.Config{Host: server.URL})
	require.NoError(t, err)
	opts := metav1.ListOptions{LabelSelector: "team=web"}

	var out, errOut bytes.Buffer
	require.NoError(t, outputFlags(t, "wide", false).PrintList(context.Background(), c, "spaces", opts, ListSpaces, &out, &errOut))
	assert.Contains(t, out.String(), "team=web")
	out.Reset()
	require.NoError(t, outputFlags(t, "name", false).PrintList(context.Background(), c, "spaces", opts, ListSpaces, &out, &errOut))
	assert.Equal(t, "space.tenancy.kiosk.sh/web\nspace.tenancy.kiosk.sh/db\n", out.String())
	require.Len(t, accepts, 2)
	assert.Equal(t, tableAccept, accepts[0])
	assert.NotContains(t, accepts[1], "as=Table")
}

func TestDecodeTableRefusesOtherKinds(t *testing.T) {
	_, err := DecodeTable([]byte(`{"kind":"SpaceList","apiVersion":"tenancy.kiosk.sh/v1alpha1","items":[]}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `the server answered a "SpaceList" where a Table was asked for`)
}
