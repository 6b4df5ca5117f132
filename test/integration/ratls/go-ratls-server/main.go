// An RA-TLS registry stand-in on Go's crypto/tls, a TLS stack independent of the client under test. Each
// handshake draws a fresh 64-byte challenge and sends it, base64 encoded, as the single
// certificate_authorities entry of the CertificateRequest (RA-TLS.md section 1.2). crypto/tls has no hook
// for raw CA names, but it sends ClientCAs.Subjects() verbatim, and a pool entry added with AddCert carries
// the certificate's RawSubject as is, so a certificate whose RawSubject is the base64 text does it.
//
// The client certificate is checked in VerifyPeerCertificate: it parses (Go's strict parser), it is
// self-signed, names are empty, validity is 2021-05-19..4096-01-01, the key is RSA 2048, the 1.3.3.3.7
// extension is present and non-critical, and its token holds SHA-512(challenge || SPKI) (the realm
// challenge, claim 10; found by searching the CBOR bytes, which is enough for tokens made in tests).
//
// stdout carries one JSON object per line: {"listening": addr} first, then one per handshake and request.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

var tokenExtension = asn1.ObjectIdentifier{1, 3, 3, 3, 7}

var emptyName = []byte{0x30, 0x00}

var output sync.Mutex

func report(fields map[string]any) {
	line, _ := json.Marshal(fields)
	output.Lock()
	defer output.Unlock()
	fmt.Println(string(line))
}

func fail(event string, err error) error {
	report(map[string]any{"event": event, "error": err.Error()})
	return err
}

// verifyClient returns the check for one handshake, bound to its challenge.
func verifyClient(challenge []byte, checkBinding bool) func([][]byte, [][]*x509.Certificate) error {
	return func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
		if len(rawCerts) != 1 {
			return fail("rejected", fmt.Errorf("expected one client certificate, got %d", len(rawCerts)))
		}
		cert, err := x509.ParseCertificate(rawCerts[0])
		if err != nil {
			return fail("rejected", fmt.Errorf("client certificate does not parse: %w", err))
		}
		if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
			return fail("rejected", fmt.Errorf("client certificate is not self-signed by its key: %w", err))
		}
		if cert.SignatureAlgorithm != x509.SHA256WithRSA || cert.Version != 3 {
			return fail("rejected", fmt.Errorf("expected a v3 sha256WithRSA certificate, got v%d %v", cert.Version, cert.SignatureAlgorithm))
		}
		if !bytes.Equal(cert.RawSubject, emptyName) || !bytes.Equal(cert.RawIssuer, emptyName) {
			return fail("rejected", errors.New("subject and issuer must be the empty name"))
		}
		notBefore := time.Date(2021, 5, 19, 0, 0, 0, 0, time.UTC)
		notAfter := time.Date(4096, 1, 1, 0, 0, 0, 0, time.UTC)
		if !cert.NotBefore.Equal(notBefore) || !cert.NotAfter.Equal(notAfter) {
			return fail("rejected", fmt.Errorf("unexpected validity %v .. %v", cert.NotBefore, cert.NotAfter))
		}
		key, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok || key.N.BitLen() != 2048 {
			return fail("rejected", errors.New("the client key is not RSA 2048"))
		}
		if len(cert.Extensions) != 1 || !cert.Extensions[0].Id.Equal(tokenExtension) || cert.Extensions[0].Critical {
			return fail("rejected", errors.New("expected exactly one non-critical 1.3.3.3.7 extension"))
		}
		token := cert.Extensions[0].Value
		digest := sha512.New()
		digest.Write(challenge)
		digest.Write(cert.RawSubjectPublicKeyInfo)
		realmChallenge := digest.Sum(nil)
		bound := bytes.Contains(token, realmChallenge)
		report(map[string]any{
			"event":          "client-certificate",
			"challenge":      hex.EncodeToString(challenge),
			"spki":           hex.EncodeToString(cert.RawSubjectPublicKeyInfo),
			"realmChallenge": hex.EncodeToString(realmChallenge),
			"token":          hex.EncodeToString(token),
			"serial":         cert.SerialNumber.Text(16),
			"bound":          bound,
		})
		if checkBinding && !bound {
			return fail("rejected", errors.New("the token does not carry SHA-512(challenge || SPKI)"))
		}
		return nil
	}
}

// challengePool holds one base64 challenge per authority; only the first is checked against the token.
func challengePool(authorities int) ([]byte, *x509.CertPool, error) {
	pool := x509.NewCertPool()
	var first []byte
	for i := 0; i < authorities; i++ {
		challenge := make([]byte, 64)
		if _, err := rand.Read(challenge); err != nil {
			return nil, nil, err
		}
		if first == nil {
			first = challenge
		}
		subject := []byte(base64.StdEncoding.EncodeToString(challenge))
		// AddCert skips a certificate whose Raw it has seen, so Raw must differ between entries too.
		pool.AddCert(&x509.Certificate{Raw: subject, RawSubject: subject})
	}
	return first, pool, nil
}

func main() {
	certFile := flag.String("cert", "", "server certificate chain (PEM)")
	keyFile := flag.String("key", "", "server private key (PEM)")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	authorities := flag.Int("authorities", 1, "certificate_authorities entries to send (RA-TLS sends exactly 1)")
	checkBinding := flag.Bool("check-binding", true, "reject tokens that do not carry SHA-512(challenge || SPKI)")
	flag.Parse()

	serverCert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	base := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAnyClientCert,
	}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		challenge, pool, err := challengePool(*authorities)
		if err != nil {
			return nil, err
		}
		config := base.Clone()
		config.GetConfigForClient = nil
		config.ClientCAs = pool
		config.VerifyPeerCertificate = verifyClient(challenge, *checkBinding)
		return config, nil
	}

	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		report(map[string]any{"event": "request", "method": r.Method, "path": r.URL.Path})
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v2/":
			w.Write([]byte("{}"))
		case "/v2/app/tags/list":
			w.Write([]byte(`{"name":"app","tags":["latest","v1","v2"]}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}`))
		}
	})
	report(map[string]any{"listening": listener.Addr().String()})
	server := &http.Server{Handler: mux, ErrorLog: nil}
	if err := server.Serve(tls.NewListener(listener, base)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
