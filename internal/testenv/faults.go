package testenv

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// Call is one AWS API request as the fault proxy sees it.
type Call struct {
	// Service is the signing name (sts, iam, organizations, s3).
	Service string
	// Action is the API operation (AssumeRole, ListAccounts...).
	Action string
	// Params are the form parameters of query-protocol calls (STS, IAM).
	Params url.Values
	// Body is the raw request body.
	Body []byte
}

// Fault is an error the proxy answers instead of forwarding a call.
type Fault struct {
	// Status is the HTTP status of the answer.
	Status int
	// Code and Message are the AWS error code and message, written in the protocol of the call.
	Code    string
	Message string
}

// Common faults.
var (
	Throttled    = &Fault{Status: 400, Code: "Throttling", Message: "Rate exceeded"}
	TooMany      = &Fault{Status: 400, Code: "TooManyRequestsException", Message: "Rate exceeded"}
	AccessDenied = &Fault{Status: 403, Code: "AccessDenied", Message: "User is not authorized to perform: sts:AssumeRole"}
	ServerError  = &Fault{Status: 503, Code: "ServiceUnavailable", Message: "Service is unavailable"}
)

// FaultProxy sits between the SDK and moto and answers some calls with faults, so tests can
// see how the real clients, retryers and our code behave under throttling and denial.
type FaultProxy struct {
	// URL is the proxy's endpoint: use it where moto's endpoint would go.
	URL      string
	injected atomic.Int64
	passed   atomic.Int64
}

// Injected is how many calls were answered with a fault.
func (p *FaultProxy) Injected() int64 { return p.injected.Load() }

// Passed is how many calls were forwarded to moto.
func (p *FaultProxy) Passed() int64 { return p.passed.Load() }

var credentialScope = regexp.MustCompile(`Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request`)

// StartFaultProxy starts a proxy to target that asks rule about every call; a nil Fault
// forwards the call.
func StartFaultProxy(t testing.TB, target string, rule func(Call) *Fault) *FaultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("fault proxy target: %v", err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &FaultProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		call := Call{Body: body}
		if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
			call.Service = m[1]
		}
		if target := r.Header.Get("X-Amz-Target"); target != "" {
			call.Action = target[strings.LastIndex(target, ".")+1:]
		} else if strings.Contains(r.Header.Get("Content-Type"), "x-www-form-urlencoded") {
			call.Params, _ = url.ParseQuery(string(body))
			call.Action = call.Params.Get("Action")
		}
		if f := rule(call); f != nil {
			p.injected.Add(1)
			writeFault(w, r, f)
			return
		}
		p.passed.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func writeFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	w.Header().Set("x-amzn-RequestId", "fault-proxy")
	if r.Header.Get("X-Amz-Target") != "" {
		// JSON protocols (Organizations).
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("x-amzn-ErrorType", f.Code)
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, f.Code, f.Message)
		return
	}
	// Query protocols (STS, IAM).
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(f.Status)
	fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`, f.Code, f.Message)
}
