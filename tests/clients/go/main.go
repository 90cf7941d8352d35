// labsend sends one message the way Go programs usually do, with only the standard library
// (net/smtp and crypto/tls), and prints the error exactly as err.Error() says it.
//
//	labsend -mode sendmail|starttls|implicit|plain -addr 127.0.0.1:587 [-user alice@example.com] \
//	        [-auth plain|cram-md5] [-auth-host NAME] [-from ADDR] [-to ADDR] [-no-from] [-timeout 2s]
//
// The password comes from the LAB_PASSWORD environment variable, never from the command line.
// Certificates are verified against the system roots; point SSL_CERT_FILE at the lab CA to trust it.
// Exit status: 0 sent, 1 failed (the error is on stderr), 2 bad usage.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"time"
)

func main() {
	mode := flag.String("mode", "sendmail", "sendmail (smtp.SendMail), starttls, implicit (TLS from the first byte) or plain")
	addr := flag.String("addr", "", "host:port of the server")
	user := flag.String("user", "", "log in as this user (password from LAB_PASSWORD)")
	mechanism := flag.String("auth", "plain", "plain (smtp.PlainAuth) or cram-md5 (smtp.CRAMMD5Auth)")
	authHost := flag.String("auth-host", "", "host name given to smtp.PlainAuth (default: the host in -addr)")
	from := flag.String("from", "alice@example.com", "envelope sender and From: header")
	to := flag.String("to", "bob@example.com", "recipient")
	noFrom := flag.Bool("no-from", false, "leave the From: header out of the message")
	timeout := flag.Duration("timeout", 2*time.Second, "deadline for the whole conversation (not used by sendmail)")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
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
			auth = smtp.PlainAuth("", *user, os.Getenv("LAB_PASSWORD"), *authHost)
		case "cram-md5":
			auth = smtp.CRAMMD5Auth(*user, os.Getenv("LAB_PASSWORD"))
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
		err = send(*mode, *addr, host, *timeout, auth, *from, *to, msg)
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

// send talks SMTP step by step over a connection with a deadline, so that nothing can hang.
func send(mode, addr, host string, timeout time.Duration, auth smtp.Auth, from, to string, msg []byte) error {
	dialer := &net.Dialer{Timeout: timeout}
	config := &tls.Config{ServerName: host}
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
	c, err := smtp.NewClient(conn, host)
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
