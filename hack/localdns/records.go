package main

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"golang.org/x/net/dns/dnsmessage"
)

// byService indexes EndpointSlices by <namespace>/<service>.
const byService = "service"

// ttl is the answers' time to live, in seconds: short, as Pods come and go.
const ttl = 5

func serviceOfSlice(obj any) ([]string, error) {
	slice, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	name := slice.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return nil, nil
	}
	return []string{slice.Namespace + "/" + name}, nil
}

// records resolves the cluster's names from the informers' caches.
type records struct {
	domain   string
	services corelisters.ServiceLister
	slices   cache.Indexer
}

// answer decodes a query and encodes its answer: the A records of its one question, no
// records (NOERROR) for another type of a name that exists, NXDOMAIN for a name that does
// not. A message that is not one query is an error (and gets no answer).
func (r *records) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	header, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	if header.Response {
		return nil, fmt.Errorf("not a query")
	}
	question, err := p.Question()
	if err != nil {
		return nil, err
	}
	reply := dnsmessage.Header{ID: header.ID, Response: true, Authoritative: true, RecursionDesired: header.RecursionDesired}
	addrs, exists, err := r.resolve(question.Name.String())
	switch {
	case err != nil:
		reply.RCode = dnsmessage.RCodeServerFailure
	case !exists:
		reply.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), reply)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(question); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if question.Type == dnsmessage.TypeA && question.Class == dnsmessage.ClassINET {
		for _, addr := range addrs {
			h := dnsmessage.ResourceHeader{Name: question.Name, Class: dnsmessage.ClassINET, TTL: ttl}
			if err := b.AResource(h, dnsmessage.AResource{A: addr.As4()}); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}

// resolve returns the IPv4 addresses of name, and whether it exists.
func (r *records) resolve(name string) ([]netip.Addr, bool, error) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	rest, ok := strings.CutSuffix(name, ".svc."+r.domain)
	if !ok {
		return nil, false, nil
	}
	labels := strings.Split(rest, ".")
	var host, service, namespace string
	switch len(labels) {
	case 2:
		service, namespace = labels[0], labels[1]
	case 3:
		host, service, namespace = labels[0], labels[1], labels[2]
	default:
		return nil, false, nil
	}
	svc, err := r.services.Services(namespace).Get(service)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if host == "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		addr, err := netip.ParseAddr(svc.Spec.ClusterIP)
		if err != nil || !addr.Is4() {
			return nil, true, nil
		}
		return []netip.Addr{addr}, true, nil
	}
	objs, err := r.slices.ByIndex(byService, namespace+"/"+service)
	if err != nil {
		return nil, false, err
	}
	var addrs []netip.Addr
	for _, obj := range objs {
		slice := obj.(*discoveryv1.EndpointSlice)
		if slice.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, ep := range slice.Endpoints {
			ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready || svc.Spec.PublishNotReadyAddresses
			if !ready || (host != "" && (ep.Hostname == nil || *ep.Hostname != host)) {
				continue
			}
			for _, a := range ep.Addresses {
				if addr, err := netip.ParseAddr(a); err == nil && addr.Is4() {
					addrs = append(addrs, addr)
				}
			}
		}
	}
	if host != "" && len(addrs) == 0 {
		return nil, false, nil
	}
	return addrs, true, nil
}
