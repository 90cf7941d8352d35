// labsend sends one message the way Go programs usually do, with only the standard library
// (net/smtp and crypto/tls), and prints the error exactly as err.Error() says it.
//
//	labsend -mode sendmail|starttls|implicit|plain -addr 127.0.0.1:587 [-user alice@example.com] \
//	        [-auth plain|cram-md5] [-auth-host NAME] [-from ADDR] [-to ADDR] [-no-from] [-timeout 2s]
//
// Every flag but -auth, -auth-host and -no-from defaults to its SMTP_* environment variable
// (tests/clients/README.md), so `SMTP_MODE=implicit SMTP_HOST=... labsend` works like the other clients.
// The password comes from SMTP_PASSWORD, never from the command line.
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
	mechanism := flag.String("auth", "plain", "plain (smtp.PlainAuth) or cram-md5 (smtp.CRAMMD5Auth)")
	authHost := flag.String("auth-host", "", "host name given to smtp.PlainAuth (default: the host in -addr)")
	from := flag.String("from", env("SMTP_FROM", "alice@example.com"), "envelope sender and From: header")
	to := flag.String("to", env("SMTP_TO", "bob@example.com"), "recipient")
	noFrom := flag.Bool("no-from", false, "leave the From: header out of the message")
	timeout := flag.Duration("timeout", defaultTimeout, "deadline for the whole conversation (not used by sendmail)")
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
