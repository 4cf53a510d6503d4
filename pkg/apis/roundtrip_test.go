package apis_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"

	configinstall "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/install"
	apifuzzer "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/fuzzer"
	tenancyinstall "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/install"
)

func TestRoundTripConfig(t *testing.T) {
	roundtrip.RoundTripTestForAPIGroup(t, configinstall.Install, fuzzer.MergeFuzzerFuncs(metafuzzer.Funcs, apifuzzer.Funcs))
}

func TestRoundTripTenancy(t *testing.T) {
	roundtrip.RoundTripTestForAPIGroup(t, tenancyinstall.Install, fuzzer.MergeFuzzerFuncs(metafuzzer.Funcs, apifuzzer.Funcs))
}
