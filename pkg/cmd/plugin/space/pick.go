package space

import (
	"fmt"
	"sort"
	"strings"
)

// NoAccountError says that the caller is a user of no Account, and how to become one.
type NoAccountError struct {
	// User is the caller's user name, "" when it could not be read.
	User string
}

func (e *NoAccountError) Error() string {
	whom := "you"
	if e.User != "" {
		whom = fmt.Sprintf("User %q", e.User)
	}
	return "you are not a user of any Account, so there is no Account to create a Space for.\n" +
		"Ask a cluster admin to add " + whom + " (or a group you are in) to the spec.subjects of an Account,\n" +
		"then run this command again."
}

// SeveralAccountsError says that the caller is a user of several Accounts and must choose one.
type SeveralAccountsError struct {
	Accounts []string
}

func (e *SeveralAccountsError) Error() string {
	return fmt.Sprintf("you are a user of %d Accounts, choose the one for the Space with --account: %s",
		len(e.Accounts), strings.Join(e.Accounts, ", "))
}

// PickAccount is the Account for a new Space when --account is not given: the only one of
// accounts, the Accounts the caller sees. None is a *NoAccountError (without the user name),
// several a *SeveralAccountsError that lists them in order.
func PickAccount(accounts []string) (string, error) {
	switch len(accounts) {
	case 0:
		return "", &NoAccountError{}
	case 1:
		return accounts[0], nil
	}
	sorted := append([]string(nil), accounts...)
	sort.Strings(sorted)
	return "", &SeveralAccountsError{Accounts: sorted}
}
