package quota

import (
	"sort"

	"k8s.io/client-go/tools/cache"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// ByAccount names the AccountQuota informer's index by spec.account, through which the
// webhook and the quota controller find an Account's quotas without listing every quota.
const ByAccount = "spec.account"

// IndexByAccount adds the ByAccount index to an AccountQuota informer that has not started,
// unless it has it.
func IndexByAccount(informer cache.SharedIndexInformer) error {
	if _, ok := informer.GetIndexer().GetIndexers()[ByAccount]; ok {
		return nil
	}
	return informer.AddIndexers(cache.Indexers{ByAccount: func(obj any) ([]string, error) {
		q, ok := obj.(*configv1alpha1.AccountQuota)
		if !ok {
			return nil, nil
		}
		return []string{q.Spec.Account}, nil
	}})
}

// QuotasOf returns the AccountQuotas of account, sorted by name, from an indexer with the
// ByAccount index.
func QuotasOf(indexer cache.Indexer, account string) ([]*configv1alpha1.AccountQuota, error) {
	objs, err := indexer.ByIndex(ByAccount, account)
	if err != nil {
		return nil, err
	}
	out := make([]*configv1alpha1.AccountQuota, 0, len(objs))
	for _, obj := range objs {
		if q, ok := obj.(*configv1alpha1.AccountQuota); ok {
			out = append(out, q)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
