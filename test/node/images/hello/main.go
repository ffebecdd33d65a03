// hello: a tiny HTTP server for the real node's smoke test. GET /healthz answers 200 (the
// readiness probe); GET /get?url=U fetches U from inside the pod (TLS not verified) and reports
// the status or the error, to see which API servers a pod can reach. `hello get URL` does the
// same from the command line (for kubectl exec); `hello alloc N` touches N MiB (the memory limit);
// `hello env NAME` prints a variable (the image has no shell).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

const sa = "/var/run/secrets/kubernetes.io/serviceaccount/"

var insecure = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
}

func verified() *http.Client {
	pem, err := os.ReadFile(sa + "ca.crt")
	if err != nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func get(url string) string {
	req, _ := http.NewRequest("GET", url, nil)
	if tok, err := os.ReadFile(sa + "token"); err == nil {
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	prefix := ""
	var resp *http.Response
	var err error
	if c := verified(); c != nil {
		resp, err = c.Do(req)
		if err != nil && strings.Contains(err.Error(), "certificate") {
			prefix = "TLS check failed (" + err.Error() + "); unverified: "
			resp, err = insecure.Do(req)
		} else {
			prefix = "TLS verified: "
		}
	} else {
		resp, err = insecure.Do(req)
	}
	if err != nil {
		return prefix + "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	return fmt.Sprintf("%s%s: %s", prefix, resp.Status, strings.Join(strings.Fields(string(b)), " "))
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "get" {
		fmt.Println(get(os.Args[2]))
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "alloc" { // touch N MiB, to see the memory limit enforced
		n, _ := strconv.Atoi(os.Args[2])
		var keep [][]byte
		for i := 0; i < n; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		fmt.Printf("allocated %d MiB\n", len(keep))
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "env" { // a scratch image has no shell
		fmt.Println(os.Getenv(os.Args[2]))
		return
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	http.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		res := get(r.URL.Query().Get("url"))
		log.Printf("get %s -> %s", r.URL.Query().Get("url"), res)
		io.WriteString(w, res+"\n")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h, _ := os.Hostname()
		fmt.Fprintf(w, "hello from %s\n", h)
	})
	log.Printf("hello: listening on :8080")
	log.Fatal(http.ListenAndServe(":8080", nil))
}
