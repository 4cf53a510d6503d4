package space

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPickAccount(t *testing.T) {
	for _, tc := range []struct {
		name     string
		accounts []string
		want     string
		wantErr  string
	}{
		{name: "the only Account", accounts: []string{"node-account"}, want: "node-account"},
		{name: "none", wantErr: "you are not a user of any Account, so there is no Account to create a Space for.\n" +
			"Ask a cluster admin to add you (or a group you are in) to the spec.subjects of an Account,\nthen run this command again."},
		{name: "several, listed in order", accounts: []string{"redis-account", "node-account", "a-account"},
			wantErr: "you are a user of 3 Accounts, choose the one for the Space with --account: a-account, node-account, redis-account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PickAccount(tc.accounts)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestPickAccountErrorKinds(t *testing.T) {
	accounts := []string{"b", "a"}
	_, err := PickAccount(accounts)
	var several *SeveralAccountsError
	require.True(t, errors.As(err, &several))
	assert.Equal(t, []string{"a", "b"}, several.Accounts)
	assert.Equal(t, []string{"b", "a"}, accounts, "the caller's slice is not reordered")

	_, err = PickAccount(nil)
	var none *NoAccountError
	require.True(t, errors.As(err, &none))
	none.User = "dev"
	assert.Contains(t, err.Error(), `Ask a cluster admin to add User "dev" (or a group you are in)`)
}
