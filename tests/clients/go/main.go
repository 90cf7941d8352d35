// labsend sends one message the way Go programs usually do, with only the standard library
// (net/smtp and crypto/tls), and prints the error exactly as err.Error() says it.
//
//	labsend -mode sendmail|starttls|implicit|plain -addr 127.0.0.1:587 [-user alice@example.com] \
//	        [-auth plain|cram-md5|xoauth2] [-auth-host NAME] [-from ADDR] [-to ADDR] [-no-from] [-timeout 2s]
//	        [-tls10]
//
// Every flag but -auth, -auth-host and -no-from defaults to its SMTP_* environment variable
// (tests/clients/README.md), so `SMTP_MODE=implicit SMTP_HOST=... labsend` works like the other clients.
// The password comes from SMTP_PASSWORD, never from the command line; with -auth xoauth2, an OAuth 2.0
// access token comes from SMTP_ACCESS_TOKEN instead.
// Certificates are always verified: against SMTP_CA_FILE alone when it is set (modes starttls and
// implicit), else against the system roots, which SSL_CERT_FILE replaces (the only way for sendmail
// mode: smtp.SendMail takes no tls.Config).
// Exit status: 0 sent, 1 failed (the error is on stderr), 2 bad usage.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"time"
)

func main() {
	defaultTimeout, err := time.ParseDuration(env("SMTP_TIMEOUT", "2") + "s")
	if err != nil {
		fmt.Fprintln(os.Stderr, "usage: SMTP_TIMEOUT is not a number of seconds:", err)
		os.Exit(2)
	}
	mode := flag.String("mode", env("SMTP_MODE", "sendmail"), "sendmail (smtp.SendMail), starttls, implicit (TLS from the first byte) or plain")
	addr := flag.String("addr", net.JoinHostPort(os.Getenv("SMTP_HOST"), os.Getenv("SMTP_PORT")), "host:port of the server")
	user := flag.String("user", os.Getenv("SMTP_USER"), "log in as this user (password from SMTP_PASSWORD)")
	mechanism := flag.String("auth", "plain", "plain (smtp.PlainAuth), cram-md5 (smtp.CRAMMD5Auth) or xoauth2 (a token)")
	authHost := flag.String("auth-host", "", "host name given to smtp.PlainAuth (default: the host in -addr)")
	from := flag.String("from", env("SMTP_FROM", "alice@example.com"), "envelope sender and From: header")
	to := flag.String("to", env("SMTP_TO", "bob@example.com"), "recipient")
	noFrom := flag.Bool("no-from", false, "leave the From: header out of the message")
	timeout := flag.Duration("timeout", defaultTimeout, "deadline for the whole conversation (not used by sendmail)")
	tls10 := flag.Bool("tls10", false, "speak TLS 1.0 only, as old programs do (Go's default is 1.2 and later)")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "usage:", err)
		os.Exit(2)
	}
	config, err := tlsConfig(host, os.Getenv("SMTP_CA_FILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "usage:", err)
		os.Exit(2)
	}
	if *tls10 {
		config.MinVersion, config.MaxVersion = tls.VersionTLS10, tls.VersionTLS10
	}
	var auth smtp.Auth
	if *user != "" {
		if *authHost == "" {
			*authHost = host
		}
		switch *mechanism {
		case "plain":
			auth = smtp.PlainAuth("", *user, os.Getenv("SMTP_PASSWORD"), *authHost)
		case "cram-md5":
			auth = smtp.CRAMMD5Auth(*user, os.Getenv("SMTP_PASSWORD"))
		case "xoauth2":
			auth = xoauth2{*user, os.Getenv("SMTP_ACCESS_TOKEN")}
		default:
			fmt.Fprintln(os.Stderr, "usage: unknown -auth", *mechanism)
			os.Exit(2)
		}
	}
	header := "To: " + *to + "\r\nSubject: Hello from Go\r\n"
	if !*noFrom {
		header = "From: " + *from + "\r\n" + header
	}
	msg := []byte(header + "\r\nHi!\r\n")

	switch *mode {
	case "sendmail":
		// What most Go code does: no timeouts, STARTTLS only if the server offers it.
		err = smtp.SendMail(*addr, auth, *from, []string{*to}, msg)
	case "starttls", "implicit", "plain":
		err = send(*mode, *addr, config, *timeout, auth, *from, *to, msg)
	default:
		fmt.Fprintln(os.Stderr, "usage: unknown -mode", *mode)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("sent")
}

func env(name, fallback string) string {
	if value, ok := os.LookupEnv(name); ok {
		return value
	}
	return fallback
}

// tlsConfig verifies the server as host, trusting only the CA in caFile when one is given.
func tlsConfig(host, caFile string) (*tls.Config, error) {
	config := &tls.Config{ServerName: host}
	if caFile == "" {
		return config, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	config.RootCAs = x509.NewCertPool()
	if !config.RootCAs.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate in " + caFile)
	}
	return config, nil
}

// send talks SMTP step by step over a connection with a deadline, so that nothing can hang.
func send(mode, addr string, config *tls.Config, timeout time.Duration, auth smtp.Auth, from, to string, msg []byte) error {
	dialer := &net.Dialer{Timeout: timeout}
	var conn net.Conn
	var err error
	if mode == "implicit" {
		conn, err = tls.DialWithDialer(dialer, "tcp", addr, config)
	} else {
		conn, err = dialer.Dial("tcp", addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	c, err := smtp.NewClient(conn, config.ServerName)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.com"); err != nil {
		return err
	}
	if mode == "starttls" {
		// Unlike SendMail, insist on TLS: a server that does not offer STARTTLS is an error here.
		if err := c.StartTLS(config); err != nil {
			return err
		}
	}
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// xoauth2 logs in with an OAuth 2.0 access token (XOAUTH2, as Gmail and Microsoft 365 take it);
// net/smtp has no smtp.Auth for it.
type xoauth2 struct{ user, token string }

func (a xoauth2) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS { // as smtp.PlainAuth does: a token is as good as a password to whoever reads it
		return "", nil, errors.New("unencrypted connection")
	}
	return "XOAUTH2", []byte("user=" + a.user + "\x01auth=Bearer " + a.token + "\x01\x01"), nil
}

func (a xoauth2) Next(fromServer []byte, more bool) ([]byte, error) {
	if more { // an error in JSON, in a 334 challenge: answer with nothing, and the server says why it refused
		return []byte{}, nil
	}
	return nil, nil
}
