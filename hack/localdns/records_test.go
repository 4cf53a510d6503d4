package main

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"golang.org/x/net/dns/dnsmessage"
)

func testRecords(t *testing.T) *records {
	t.Helper()
	services := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	slices := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{byService: serviceOfSlice})
	for _, svc := range []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "a"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.20"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "etcd", Namespace: "a"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, PublishNotReadyAddresses: true}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ready", Namespace: "a"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone}},
	} {
		if err := services.Add(svc); err != nil {
			t.Fatal(err)
		}
	}
	endpoint := func(host, addr string, ready bool) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Hostname: ptr.To(host), Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)}}
	}
	for _, s := range []*discoveryv1.EndpointSlice{
		{ObjectMeta: metav1.ObjectMeta{Name: "etcd-x", Namespace: "a", Labels: map[string]string{discoveryv1.LabelServiceName: "etcd"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{endpoint("etcd-0", "198.51.100.130", false), endpoint("etcd-1", "198.51.100.131", true)}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ready-x", Namespace: "a", Labels: map[string]string{discoveryv1.LabelServiceName: "ready"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{endpoint("r-0", "198.51.100.140", false), endpoint("r-1", "198.51.100.141", true)}},
	} {
		if err := slices.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	return &records{domain: "cluster.local", services: corelisters.NewServiceLister(services), slices: slices}
}

func TestResolve(t *testing.T) {
	r := testRecords(t)
	for _, tc := range []struct {
		name   string
		want   []string
		exists bool
	}{
		{"web.a.svc.cluster.local.", []string{"10.96.0.20"}, true},
		{"WEB.A.svc.cluster.local", []string{"10.96.0.20"}, true},
		{"etcd.a.svc.cluster.local", []string{"198.51.100.130", "198.51.100.131"}, true},
		{"etcd-0.etcd.a.svc.cluster.local", []string{"198.51.100.130"}, true},
		{"etcd-1.etcd.a.svc.cluster.local", []string{"198.51.100.131"}, true},
		{"etcd-2.etcd.a.svc.cluster.local", nil, false},
		// Not ready, and the Service does not publish not-ready addresses.
		{"ready.a.svc.cluster.local", []string{"198.51.100.141"}, true},
		{"r-0.ready.a.svc.cluster.local", nil, false},
		{"web.b.svc.cluster.local", nil, false},
		{"web.a.svc.cluster.local.svc.cluster.local", nil, false},
		{"a.svc.cluster.local", nil, false},
		{"example.com", nil, false},
		{"web.a.svc.other.domain", nil, false},
	} {
		addrs, exists, err := r.resolve(tc.name)
		if err != nil {
			t.Fatal(tc.name, err)
		}
		var got []string
		for _, a := range addrs {
			got = append(got, a.String())
		}
		if exists != tc.exists || len(got) != len(tc.want) {
			t.Errorf("%s: %v (exists %v), want %v (exists %v)", tc.name, got, exists, tc.want, tc.exists)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

// A query gets an authoritative answer with its question and the A records; AAAA of a name
// that exists gets none (NOERROR); an unknown name gets NXDOMAIN; garbage gets no answer.
func TestAnswer(t *testing.T) {
	r := testRecords(t)
	query := func(name string, typ dnsmessage.Type) []byte {
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, RecursionDesired: true})
		_ = b.StartQuestions()
		_ = b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET})
		msg, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	for _, tc := range []struct {
		name  string
		typ   dnsmessage.Type
		rcode dnsmessage.RCode
		want  []string
	}{
		{"etcd-1.etcd.a.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"198.51.100.131"}},
		{"web.a.svc.cluster.local.", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, nil},
		{"nope.a.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"example.com.", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
	} {
		raw, err := r.answer(query(tc.name, tc.typ))
		if err != nil {
			t.Fatal(tc.name, err)
		}
		var msg dnsmessage.Message
		if err := msg.Unpack(raw); err != nil {
			t.Fatal(tc.name, err)
		}
		if msg.ID != 7 || !msg.Response || !msg.Authoritative || msg.RCode != tc.rcode || len(msg.Questions) != 1 {
			t.Errorf("%s: header %+v, want ID 7, an authoritative response, %v", tc.name, msg.Header, tc.rcode)
		}
		var got []string
		for _, a := range msg.Answers {
			got = append(got, netip.AddrFrom4(a.Body.(*dnsmessage.AResource).A).String())
		}
		if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
			t.Errorf("%s: answers %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := r.answer([]byte{1, 2, 3}); err == nil {
		t.Error("a message that is not DNS got an answer")
	}
}
