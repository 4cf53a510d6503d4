package space

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/warning"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

type warnings []string

func (w *warnings) AddWarning(_, text string) { *w = append(*w, text) }

func subjectsPlugin(t *testing.T, ready bool) *Subjects {
	t.Helper()
	x := access.New(access.Options{})
	x.UpsertSpace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "theirs", ResourceVersion: "1",
		Labels: map[string]string{configv1alpha1.AccountLabel: "b"}}})
	x.UpsertSpace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "own", ResourceVersion: "2",
		Labels: map[string]string{configv1alpha1.AccountLabel: "a"}}})
	if ready {
		x.MarkReady()
	}
	p := NewSubjects()
	p.SetTenancy(NewTenancy(&Deps{Index: x}))
	require.NoError(t, p.ValidateInitialization())
	return p
}

func accountWith(subjects ...rbacv1.Subject) *config.Account {
	a := &config.Account{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
	a.Spec.Subjects = append([]rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "alice"}}, subjects...)
	return a
}

func accountAttributes(obj, old *config.Account, subresource string) admission.Attributes {
	op := admission.Create
	var oldObj runtime.Object
	if old != nil {
		op, oldObj = admission.Update, old
	}
	return admission.NewAttributesRecord(obj, oldObj, config.Kind("Account").WithVersion(""), "", obj.Name,
		config.Resource("accounts").WithVersion(""), subresource, op, nil, false, &user.DefaultInfo{Name: "admin"})
}

func TestSubjectsRefusesServiceAccountsOfAnotherAccountsSpace(t *testing.T) {
	p := subjectsPlugin(t, true)
	theirs := rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts:theirs"}
	own := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "deployer", Namespace: "own"}
	noSpace := rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:serviceaccount:nospace:pipeline"}
	want := `accounts.config.kiosk.sh "a" is forbidden: spec.subjects[1]: Forbidden: namespace "theirs" is a Space of another Account; its service accounts cannot be subjects of account "a"`

	err := p.Validate(context.Background(), accountAttributes(accountWith(theirs), nil, ""), nil)
	require.Error(t, err)
	assert.True(t, apierrors.IsForbidden(err))
	assert.EqualError(t, err, want)
	assert.NoError(t, p.Validate(context.Background(), accountAttributes(accountWith(own, noSpace), nil, ""), nil))

	// An update that adds it is refused.
	err = p.Validate(context.Background(), accountAttributes(accountWith(theirs), accountWith(own), ""), nil)
	assert.EqualError(t, err, want)

	// An update that keeps it, as of an Account stored before the rule, is a warning.
	var w warnings
	ctx := warning.WithWarningRecorder(context.Background(), &w)
	assert.NoError(t, p.Validate(ctx, accountAttributes(accountWith(theirs), accountWith(theirs), ""), nil))
	assert.Equal(t, warnings{`spec.subjects[1]: Forbidden: namespace "theirs" is a Space of another Account; its service accounts cannot be subjects of account "a"`}, w)

	// Status writes are not the subjects'.
	assert.NoError(t, p.Validate(context.Background(), accountAttributes(accountWith(theirs), accountWith(own), "status"), nil))
}

func TestSubjectsWaitsForTheSpaces(t *testing.T) {
	p := subjectsPlugin(t, false)
	err := p.Validate(context.Background(), accountAttributes(accountWith(rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "x", Namespace: "own"}), nil, ""), nil)
	assert.True(t, apierrors.IsServiceUnavailable(err), "%v", err)
	// Accounts without service-account subjects need no Spaces.
	assert.NoError(t, p.Validate(context.Background(), accountAttributes(accountWith(), nil, ""), nil))
}
