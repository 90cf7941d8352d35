"""Read an error text by its structure, whatever program printed it: the SMTP replies in it, the socket or
resolver failure it reports, the stage of the conversation it names, what a quoted conversation shows (the
EHLO reply's keywords, a greeting in another protocol), and whether it is a server's own log of a client.

    reading = read("javax.mail.AuthenticationFailedException: 535-5.7.8 Username and Password not accepted.")
    reading.replies[0]         # Reply seen: 535, '5.7.8', stage AUTH
    reading.summary()          # what the text tells, in words, when no catalog entry explains it

helpers.diagnose weighs a reading against the catalog; this module knows only the protocol and the
platforms. Reply codes are read as RFC 5321 section 4.2 defines them, enhanced status codes as RFC 3463
and the IANA registry set up by RFC 5248 do (https://www.iana.org/assignments/smtp-enhanced-status-codes).
Socket and resolver failures are recognised in the spellings of each platform: errno names and numbers
(Linux, macOS, Windows), Java exception names, Node error codes, Go's, Ruby's, PHP's, .NET's and curl's
messages. Every pattern is a plain regular expression without nested repetition, run over a text of
bounded size: the time is linear in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from helpers.catalog import ACCOUNT_HELD, SPAM_VERDICT, Network
from helpers.terms import Phase

__all__ = ["Reading", "ReplySeen", "Seen", "enhanced_meaning", "read", "reply_meaning"]

MAX_FOUND = 50  # replies (and network errors) kept from one text: a log of thousands says no more
_MAX_LINES = 20_000  # lines of one text read for replies and the conversation

_ENHANCED = r"[245]\.\d{1,3}\.\d{1,3}"
# A reply code then an enhanced code, as servers write them ("535 5.7.8", "535-5.7.8") and as MailKit
# ("535: 5.7.3") and lettre ("permanent error (535): 5.7.8") wrap them.
_CODE_AND_ENHANCED = re.compile(rf"(?<![\w.:])\(?([2-5]\d\d)\)?(?:[ -]|:\s?)({_ENHANCED})(?![\w.])")
# An enhanced code on its own, where a client printed only the server's text (.NET's "The server response
# was: 5.7.0 ...", PHPMailer's "Additional SMTP info: 5.7.1"): only after punctuation or at a line's start,
# so that version numbers ("PHPMailer 5.2.28") are not read as codes.
_ENHANCED_ALONE = re.compile(rf"(?:^|[:(\[#='\"]\s*|\s-\s)({_ENHANCED})(?![\w.])", re.MULTILINE)
# How programs show each line of a conversation: swaks (`->` sent, `<-` received, `~>` and `<~` inside TLS,
# `<**` an unexpected reply), PHPMailer's SMTPDebug (`CLIENT -> SERVER:`, `SERVER -> CLIENT:`; PHPMailer 5
# `SMTP -> FROM SERVER:`), the protocol logs of MailKit and nodemailer (`C:`, `S:`), smtplib's
# set_debuglevel (`send:`, `reply:`), lettre's debug log (`Wrote:`, `<<`), Ruby's debug_output (`<- "..."`
# sent, `-> "..."` received: the arrows the other way round from swaks'). The direction is told by what follows
# the mark, not by the mark: a reply starts with its code, a command with its verb.
_CONVERSATION = re.compile(
    r"(?:^|(?<=[\s\]>|]))(?:client -> server:|server -> client:|smtp -> from server:|->|~>|<-|<~|<\*\*|<~\*|<<|>>|"
    r"c:|s:|send:|reply:|wrote:|sent:|got:|received:)\s*b?[\"']?"
    r"(?:([2-5]\d\d)(?=[ -]|$|[\"'\\])|(ehlo|helo|starttls|auth|mail from|rcpt to|data|bdat|quit|rset|noop)\b)",
    re.MULTILINE,
)
# The EHLO reply's keywords (RFC 5321 section 4.1.1.1), as servers send them ("250-PIPELINING") and as Jakarta
# Mail's debug log lists them ('Found extension "STARTTLS"'): AUTH (RFC 4954 section 3) and STARTTLS (RFC 3207
# section 4) among them, or only others. A log that lost the line ends glues them ("8BITMIME250-AUTH LOGIN").
_EHLO_KEYWORD = re.compile(r"(?<!\d)250[- ](auth|starttls|help|pipelining|size|8bitmime|enhancedstatuscodes|dsn|"
                           r"smtputf8|chunking|etrn|vrfy|deliverby|binarymime)\b|found extension \"(\w+)\"")
# A success reply with its enhanced code ("250 2.1.0 OK"), quoted in any wrapping: the server had spoken.
_SUCCESS_REPLY = re.compile(r"(?<![\w.])2[0-5]\d[ -]2\.\d{1,3}\.\d{1,3}\b")
# A server that is no SMTP server, by the first words it sends where a client quotes the greeting it got:
# IMAP's untagged "* OK" (RFC 9051 section 7.1), POP3's "+OK" and "-ERR" (RFC 1939 section 3), an HTTP status
# line or page, SSH's version string (RFC 4253 section 4.2), an FTP server's banner (FTP greets with 220 too,
# RFC 959 section 4.2: only its name tells).
_FOREIGN: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.MULTILINE)) for name, pattern in (
        ("IMAP", r"(?:^|[\s=:\"'(\[>])\* (?:ok|preauth|bye)\b|\bimap4rev[12]\b"),
        ("POP3", r"(?:^|[\s=:\"'(\[>])\+ok\b|(?:^|[=:\"'(\[>]) ?-err\b"),
        ("HTTP", r"\bhttp/[12](?:\.[01])? [1-5]\d\d\b|<html|<!doctype"),
        ("SSH", r"\bssh-[12]\.\d+-"),
        ("FTP", r"\b220[ -][^\n]{0,40}(?:(?<![.\w])ftp(?![.\w])|ftpd\b|filezilla)"),
    )
)
# A server's own log of a client's session (Postfix's smtpd, Exim's mainlog): there a TLS error is the server's
# handshake failing, and what it quotes as received is what the client sent.
_SERVER_LOG = re.compile(
    r"\bsmtpd\[\d+\]|\bssl_accept\b|tls error on connection from|synchroni[sz]ation error|"
    r"improper command pipelining|rejected connection from|lost connection after \w+ from|"
    r"smtp call from \S+(?: \S+)? dropped|authenticator failed for|smtp (?:protocol|syntax) error in|"
    r"\brejected (?:ehlo|helo|mail|rcpt)\b"
)
# A reply code on its own, at a line's start as a server writes it.
_CODE_AT_START = re.compile(r"^[<>~*\s-]{0,4}([2-5]\d\d)(?:[ -](?=[A-Za-z<\[(])|$)", re.MULTILINE)
_CODE_AFTER = re.compile(
    r"(?:failed|denied|response|responsecode|reply|said|code|error|status|got|invalid login)[\"']?\s*[:=(]?\s*[\"']?"
    r"(-?\d{1,3})\b"
    r"(?![.\d])"
)
_STATUS_FIELD = re.compile(r"\s*status:\s*[245]\.")  # a bounce's own summary (RFC 3464 section 2.3.4)
_NOT_A_CODE_BEFORE = re.compile(r"(?:port|errno|os error|line|winerror)\W*$")
_TUPLE = re.compile(r"\((-?\d{1,3}), b?['\"]")  # smtplib: (535, b'5.7.8 ...')
# Rust lettre's Debug form of a reply code, which names its three digits:
# "Code { severity: PermanentNegativeCompletion, category: MailSystem, detail: Four }" is 554.
# https://github.com/lettre/lettre/blob/master/src/transport/smtp/response.rs
_LETTRE = re.compile(r"severity: (Transient|Permanent)NegativeCompletion, category: (\w+), detail: (\w+)")
_LETTRE_CATEGORY = {"Syntax": 0, "Information": 1, "Connections": 2, "Unspecified3": 3, "Unspecified4": 4,
                    "MailSystem": 5}
_LETTRE_DETAIL = {name: digit for digit, name in enumerate(
    ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"))}

# .NET's System.Net.Mail names the reply code in a sentence instead of printing it.
# https://github.com/dotnet/runtime/blob/003e43b4e551874822af3c8f28188e0139a798f4/src/libraries/System.Net.Mail/src/Resources/Strings.resx
_DOTNET_SENTENCES = {
    "service not available, closing transmission channel": 421,
    "error in processing.": 451,
    "insufficient system storage.": 452,
    "client does not have permission to submit mail to this server.": 454,
    "syntax error, command unrecognized.": 500,
    "syntax error in parameters or arguments.": 501,
    "command not implemented.": 502,
    "bad sequence of commands.": 503,
    "command parameter not implemented.": 504,
    "the smtp server requires a secure connection or the client was not authenticated.": 530,
    "mailbox unavailable.": 550,
    "user not local; please try a different path.": 551,
    "exceeded storage allocation.": 552,
    "mailbox name not allowed.": 553,
    "transaction failed.": 554,
}

# The stage a text names, in each client's words; the first that matches on a line wins.
_STAGE_WORDS: tuple[tuple[re.Pattern[str], Phase], ...] = tuple(
    (re.compile(pattern), phase) for pattern, phase in (
        # Servers' own reports: Postfix "(in reply to RCPT TO command)", Exim "after RCPT TO:<...>".
        (r"(?:in reply to|after|while sending) (?:pipelined )?mail from", Phase.MAIL),
        (r"(?:in reply to|after|while sending) (?:pipelined )?rcpt to", Phase.RCPT),
        (r"(?:in reply to|after|while sending) end of data", Phase.END_OF_DATA),
        (r"(?:in reply to|after|while sending) (?:message body|data)", Phase.DATA),
        (r"(?:in reply to|after) (?:ehlo|helo)", Phase.EHLO),
        (r"(?:in reply to|after) auth", Phase.AUTH),
        (r"(?:in reply to|after) starttls", Phase.STARTTLS),
        # Postfix's log of a content filter's (milter's) answer names the command it answered.
        (r"milter-reject: (?:end-of-message|data)\b|\bend-of-message\b", Phase.END_OF_DATA),
        (r"milter-reject: rcpt\b", Phase.RCPT),
        (r"milter-reject: mail\b", Phase.MAIL),
        # PHPMailer: "MAIL FROM command failed", "DATA END command failed"; PHPMailer 5: "RCPT not accepted
        # from server".
        (r"mail from command failed|from address failed|mail not accepted from server", Phase.MAIL),
        (r"rcpt to command failed|recipients failed|rcpt not accepted from server", Phase.RCPT),
        (r"data end command failed|data not accepted|\bemessage\b", Phase.END_OF_DATA),
        # nodemailer names the mechanism ("AUTH PLAIN failed"); a login service's own failure answers AUTH too.
        (r"\bauth [\w-]+ failed|temporary authentication failure", Phase.AUTH),
        (r"(?:auth|password|username) command failed|could not authenticate|"
         r"(?:auth|password|username) not accepted from server", Phase.AUTH),
        # Symfony Mailer and SwiftMailer name the reply they expected, and so the command it answers.
        (r"expected response code \"?(?:235|334)\b", Phase.AUTH),
        (r"expected response code \"?250/251/252\b", Phase.RCPT),
        (r"expected response code \"?354\b", Phase.DATA),
        # 220 answers STARTTLS as well as the connection: a refusal of the command (454, 50x) was STARTTLS's.
        (r"expected response code \"?220\"? but got (?:code )?\"?(?:454|50\d)\b", Phase.STARTTLS),
        (r"expected response code \"?220\b", Phase.GREETING),
        # MailKit's SmtpErrorCode.
        (r"sendernotaccepted", Phase.MAIL),
        (r"recipientnotaccepted", Phase.RCPT),
        (r"messagenotaccepted", Phase.END_OF_DATA),
        (r"starttls command failed|upgrading connection with starttls|starttls denied", Phase.STARTTLS),
        (r"(?:ehlo|helo) command failed|smtpheloerror|ehlocommand\.send", Phase.EHLO),
        # .NET's stack frames name the command that was being sent.
        (r"mailcommand\.send", Phase.MAIL),
        (r"recipientcommand\.send|rcptcommand\.send", Phase.RCPT),
        (r"datacommand\.send", Phase.DATA),
        (r"authcommand\.send", Phase.AUTH),
        (r"starttlscommand\.send", Phase.STARTTLS),
        # Python's exception classes, and smtplib's own frames in a traceback.
        (r"smtplib\.py\"?, line \d+, in (?:login|auth\w*)\b", Phase.AUTH),
        (r"smtpsenderrefused", Phase.MAIL),
        (r"smtprecipientsrefused", Phase.RCPT),
        (r"smtpdataerror", Phase.END_OF_DATA),
        # Ruby's Net::SMTPAuthenticationError only with a code that is no 53x: net-smtp raises it for any 53x reply (a
        # 530 to MAIL FROM too), and for any other refusal only inside the login exchange (check_auth_response).
        (r"(?<!net::)smtpauthenticationerror|net::smtpauthenticationerror:? (?!53)\d{3}\b|"
         r"authenticationfailedexception|\.authenticationexception", Phase.AUTH),
        (r"smtpconnecterror|invalid greeting|greeting never received|bad greeting", Phase.GREETING),
        # Postfix's bounce for a server that refused it at the greeting (smtp_proto.c): "host ... refused to talk to
        # me: 554 ...". The words after it say why.
        (r"refused to talk to me", Phase.GREETING),
        # Java (Jakarta Mail), nodemailer, curl.
        (r"smtpsenderfailedexception|mail command failed|\bmail failed", Phase.MAIL),
        (r"smtpaddressfailedexception|recipients were rejected|recipient command failed|\brcpt failed",
         Phase.RCPT),
        (r"data command failed|\bdata failed", Phase.DATA),
        (r"remote access denied: \d", Phase.EHLO),  # curl: EHLO and HELO refused
        # A reply that quotes the command it refuses (Domino's 502 'Command "AUTH PLAIN ..." not implemented').
        (r"\bcommand [\"'\u201c\u2018]auth\b", Phase.AUTH),
        (r"\bcommand [\"'\u201c\u2018]starttls\b", Phase.STARTTLS),
        (r"message failed", Phase.END_OF_DATA),
        # Not .NET's "Authentication failed because the remote party ...": that is its TLS handshake.
        (r"invalid login|login denied|authentication failed(?! because)", Phase.AUTH),
    )
)
_COMMAND_PHASE = {"ehlo": Phase.EHLO, "helo": Phase.EHLO, "starttls": Phase.STARTTLS, "auth": Phase.AUTH,
                  "mail from": Phase.MAIL, "rcpt to": Phase.RCPT, "data": Phase.DATA, "bdat": Phase.DATA,
                  ".": Phase.END_OF_DATA}

# EADDRNOTAVAIL on connect: no local address of the server's family (an IPv6 server, no IPv6 here). A network that
# cannot be reached from here, and no IPv6 path problem (helpers.diagnose tells them apart by it).
NO_LOCAL_ADDRESS = r"cannot assign requested address|eaddrnotavail|\[errno 99\]"
# Socket and resolver failures. Each platform's spelling, with where it comes from:
# errno numbers and texts: Linux (asm-generic/errno.h), macOS/BSD (sys/errno.h), Windows Sockets (WSA*);
# getaddrinfo: EAI_NONAME -2, EAI_AGAIN -3, EAI_NODATA -5 (glibc netdb.h), 8 on macOS, WSAHOST_NOT_FOUND
# 11001 and WSATRY_AGAIN 11002, and as Node numbers them (libuv's include/uv/errno.h: UV_EAI_AGAIN -3001, the
# other UV_EAI_* -3000 to -3014), whatever the code beside them; any error of the syscall getaddrinfo, and
# nodemailer's own code for a failed lookup, EDNS (lib/errors.js); Node's error codes; Java's exception names;
# Go's net package; Ruby's Net:: and Errno:: classes; curl's exit codes 6, 7, 28 and 56.
_NETWORK: tuple[tuple[Network, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.MULTILINE)) for kind, pattern in (
        (Network.NAME_TEMPORARY,
         r"temporary failure in name resolution|eai_again|\[errno -3\]|getaddrinfo[^\n]{0,40}\b11002\b|"
         r"wsatry_again|server misbehaving|temporary error during hostname resolution|host not found, try again|"
         r"lookup [^\n]{1,120}i/o timeout|query\w* e(?:timeout|refused|servfail|connrefused)|"
         r"dns[^\n]{0,20}timed? ?out|(?:errno|getaddrinfo)\W{0,4}-3001\b|"
         # Mail servers' own: Sendmail's deferral, Exim's lookup that did not complete.
         r"host ?name lookup failure|host lookup did not complete|"
         # .NET on Linux: getaddrinfo's EAI_AGAIN, as SocketError 11, under System.Net.Dns.
         r"resource temporarily unavailable[^\n]*\n[^\n]*system\.net\.dns\b"),
        (Network.NAME_NOT_FOUND,
         r"name or service not known|nodename nor servname provided|no such host|enotfound|eai_noname|"
         r"getaddrinfo failed|\b11001\b|wsahost_not_found|unknownhostexception|could(?:n't| not) resolve host|"
         r"no address associated with hostname|\[errno -[25]\]|failed to lookup address information|"
         r"bad hostname|host not found|unknown host|the smtp host was not found|name does not resolve|"
         r"(?:could not|cannot|can't|unable to) find (?:the )?host\b|"
         r"php_network_getaddresses|query\w* (?:enotfound|enodata)|name resolution failed|nxdomain|"
         r"remote name could not be resolved|dns lookup failure|point to non-existent hosts|"
         r"(?:cannot|unable to|failed to) resolve|"
         r"\bedns\b|dns (?:resolution|lookup) failed|(?:errno|getaddrinfo)\W{0,4}-30(?:0[02-9]|1[0134])\b|"
         r"syscall\W{0,4}getaddrinfo\b|getaddrinfo e(?:ai_)?[a-z]{4,}\b"),
        (Network.REFUSED,
         r"connection refused|econnrefused|\[errno 111\]|\[errno 61\]|os error 111|\b10061\b|wsaeconnrefused|"
         r"actively refused|couldn't connect to server|refused \(111\)|connection was refused|connect call failed|"
         r"errno\W{0,4}-4078\b"),  # libuv's ECONNREFUSED on Windows
        (Network.UNREACHABLE,
         r"no route to host|ehostunreach|enetunreach|network is unreachable|host is unreachable|"
         r"\[errno 113\]|\[errno 101\]|\[errno 65\]|\[errno 51\]|\b1005[01]\b|\b1006[45]\b|"
         r"noroutetohostexception|network unreachable|host unreachable|errno\W{0,4}-4073\b|"  # libuv's EHOSTUNREACH
         + NO_LOCAL_ADDRESS),
        # Windows' WSAEACCES and EACCES on connect (SELinux, a local firewall): this machine forbade the connection.
        # Not a file's "Permission denied" (a key or a CA file): only with the error's number, or beside a connect.
        (Network.FORBIDDEN,
         r"\b10013\b|wsaeacces|forbidden by its access permissions|permission denied \(13\)|"
         r"\[errno 13\] permission denied(?!:)|connect eacces|"
         r"(?:connect|socket)\w*\b[^\n]{0,100}[:(] ?permission denied\b(?!:)"),
        (Network.CONNECT_TIMEOUT,
         r"connect etimedout|connect timed out|(?<!transport connection: )connection timed out|"
         r"\[errno 110\]|\[errno 60\]|os error 110|\b10060\b|wsaetimedout|"
         r"did not properly respond after a period of time|"
         r"net::opentimeout|opentimeout|execution expired|dial tcp [^\n]{0,80}i/o timeout|"
         r"connection timeout|timeout was reached|failed to connect[^\n]{0,120}timed? ?out|connect: timeout|"
         r"timed out \(110\)|timed out connecting|connecttimeout|connect timeout|timedout while connecting|"
         # Node's ETIMEDOUT from connect (libuv's -4039 on Windows), as its error object prints it.
         r"(?:etimedout|errno\W{0,4}-4039)\b[^}]{0,120}syscall\W{0,4}connect\b|"
         r"syscall\W{0,4}connect\b[^}]{0,120}(?:etimedout|errno\W{0,4}-4039)\b"),
        (Network.READ_TIMEOUT,
         r"read tcp[^\n]{0,80}i/o timeout|read timed out|net::readtimeout|readtimeout|greeting never received|"
         r"timeout after initial connection|"
         r"with 0 bytes received|with 0 out of 0 bytes received|waiting for server response|"
         r"timed out while receiving the initial server greeting|server response timeout|"
         r"connection to \"[^\"\n]{1,200}\" timed out|"
         r"connection to [a-z]+://\S{1,200} timed out|timed out waiting for|read operation timed out|"
         r"unexpectedly closed: timed out|sockettimeoutexception: read|operation timed out after \d+ milliseconds|"
         r"timeout\W{0,2}\d{0,6}\W{0,2} while (?:trying to )?read(?:ing)? from|"
         # .NET's IOException around a socket timeout while reading; a Python traceback through smtplib's getreply.
         r"unable to read data from the transport connection: connection timed out|"
         r"in getreply\b[\s\S]{0,600}?\b(?:timeouterror|socket\.timeout)\b"),
        (Network.RESET,
         r"connection reset|econnreset|\[errno 104\]|\[errno 54\]|os error 104|\b10054\b|wsaeconnreset|"
         r"forcibly closed by the remote host|connection was reset|"
         r"econnaborted|connection was aborted|connection aborted|\b10053\b|"
         # Node on Windows reports libuv's own numbers, not the system's (libuv's include/uv/errno.h):
         # -4077 ECONNRESET, -4079 ECONNABORTED.
         r"errno\W{0,4}-40(?:77|79)\b"),
        (Network.CLOSED,
         r"(?:^|[:=]\s*)[\"']?eof[\"']?(?:\s|[,;}\]]|$)|\[eof\]|\(eof\)|eoferror|end of file reached|"
         r"unexpected[ _]eof(?:[ _]while[ _]reading| received|\s*(?:[,;:}\]\"')]|$))|tls handshake eof|"
         r"unexpected end of file|0 bytes from the transport stream|"
         r"connection unexpectedly closed|closed unexpectedly|server -> client:[ \t]*$|"
         r"connection closed unexpectedly|unexpected socket close|closed connection unexpectedly|"
         r"net_io_connectionclosed|the connection was closed|unexpectedly disconnected|response: -1\b|"
         r"empty reply from server|connection closed by (?:foreign|remote) host|server returned nothing|"
         r"\(code: -1, response: \)|"  # PEAR Mail: the server closed before any reply
         r"\(-1, b?(?:''|\"\")|connection lost|(?:^|error: )connection closed\s*$|server disconnected|socket hang up|"
         r"failure when receiving data from the peer|lost connection with|eof caught|"
         r"closed connection in response to|got code \"\", with message \"\"|but got an empty response|"
         r"ssl_connect syscall returned=5|\beconnection\b|"
         # Writing to a connection the server had already closed (EPIPE), and rustls's abrupt close.
         r"broken pipe|\bepipe\b|\[errno 32\]|closed connection without sending tls close.notify"),
        (Network.TIMEOUT,
         r"timed out|etimedout|i/o timeout|timeouterror|the operation has timed out|deadline exceeded|"
         r"socket\.timeout|timeout::error|timeout error|(?:^|error: )timeout\s*$|"
         # Rust's std::net: a read or write past its timeout fails with WouldBlock on Unix (EAGAIN, os error 11).
         r"resource temporarily unavailable \(os error 11\)|kind: wouldblock"),
    )
)
# A login refused because the server's own authentication service failed, not the credentials: Cyrus SASL's
# SASL_FAIL ("generic failure"), Dovecot's AUTH_TEMP_FAILED_MSG ("Temporary authentication failure."), Postfix when
# its SASL socket is gone, Exim's "Unable to authenticate at present".
_AUTH_SERVER_FAILED = re.compile(
    r"sasl (?:back ?end|backend|server)[^\n]{0,20}(?:error|fail|unavailable)|\bgeneric failure\b|"
    r"temporary authentication failure|unable to authenticate at present|"
    r"auth(?:entication)? (?:service|server|back ?end|backend) (?:is )?(?:unavailable|error|failure|failed|down)|"
    r"connection lost to authentication server|connect to private/auth failed"
)
# The command a server wanted before the one it refused as out of order (503), in each server's words: Postfix
# (smtpd.c: "Error: send HELO/EHLO first", "need MAIL command", "need RCPT command", "MAIL transaction in progress";
# "no valid recipients"), Exim (smtp_in.c: "HELO or EHLO required", "sender not yet given", "Valid RCPT command must
# precede DATA"), Sendmail ("Polite people say HELO first", "Need MAIL before RCPT", "Need RCPT (recipient)",
# "Sender already specified"), Exchange ("Send hello first", "Need mail command"), Gmail ("EHLO/HELO first.",
# "MAIL first.", "RCPT first."), qmail ("MAIL first (#5.5.1)").
_WANTED_FIRST: tuple[tuple[str, str], ...] = (
    ("ehlo", r"(?:send|say) (?:helo|ehlo|hello)(?:/(?:helo|ehlo))? first|\b(?:helo|ehlo)(?:/(?:helo|ehlo))? first\b|"
             r"\b(?:need|needs|requires?|expected?) (?:helo|ehlo)\b(?:/(?:helo|ehlo))? (?:before|first)\b|"
             r"\bnot (?:allowed|permitted|accepted) before (?:helo|ehlo)\b|"
             r"\b(?:helo|ehlo) or (?:helo|ehlo) required\b|no helo/ehlo given"),
    ("mail", r"need mail (?:command|before)|\bmail first\b|(?:no sender yet|sender not yet) given|"
             r"mail from:?\S{0,80} (?:command )?must precede"),
    ("rcpt", r"need rcpt\b|\brcpt first\b|valid rcpt command must precede|rcpt to:?\S{0,80} must precede|"
             r"no valid recipients"),
    ("rset", r"mail transaction in progress|sender already (?:given|specified)|nested mail command"),
)
_TOLD_ORDER = {
    "ehlo": "a command out of order: the server wants EHLO (or HELO) first; the client sent none, or did not send it "
            "again after STARTTLS (RFC 3207 section 4.2: once TLS is up the client says EHLO anew, as smtplib and "
            "Go's net/smtp do by themselves)",
    "mail": "a command out of order: the server has no sender for this transaction, because MAIL FROM was refused "
            "before it (that earlier reply says why) or never sent",
    "rcpt": "a command out of order: no recipient had been accepted before DATA; the server's replies to RCPT TO "
            "say why each was refused",
    "rset": "a command out of order: a mail transaction was under way (MAIL FROM accepted), and this command (AUTH, "
            "or a second MAIL FROM) is allowed only before it, or after RSET",
}
_WANTED_FIRST_PATTERNS = tuple((wanted, re.compile(pattern)) for wanted, pattern in _WANTED_FIRST)
# What a program's generic message tells by itself, where it names no cause (what it is; then what tells more):
# nodemailer's own error codes (lib/errors.js, https://github.com/nodemailer/nodemailer/blob/
# 26c7a477aff19d1179416990b433a19869f04879/lib/errors.js), PHPMailer's messages (its language strings,
# PHPMailer::$language), MailKit's exception names, and Postfix's log line for a client that hung up, which names
# the last command it had sent (smtpd.c: "lost connection after %s").
_TOLD: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), meaning) for pattern, meaning in (
    (_AUTH_SERVER_FAILED.pattern, "the server's words say its own login service failed (its SASL back end), not that "
                                  "the password was wrong: try again later, or tell the server's administrator"),
    # A command out of order (503, RFC 5321 section 4.3.2), by the command the server wanted first.
    *((pattern, _TOLD_ORDER[wanted]) for wanted, pattern in _WANTED_FIRST),
    (r"\beauth\b", "nodemailer's EAUTH: the login failed; the server's reply beside it says why"),
    (r"\benoauth\b", "nodemailer's ENOAUTH: no credentials were given for the login"),
    (r"\beoauth2\b", "nodemailer's EOAUTH2: getting or refreshing the OAuth 2.0 token failed, before any login"),
    (r"\besocket\b", "nodemailer's ESOCKET: the socket or its TLS layer failed (refused, reset, a TLS error); "
                     "the message beside it says which"),
    (r"\beconnection\b", "nodemailer's ECONNECTION: the connection closed unexpectedly"),
    (r"\betls\b", "nodemailer's ETLS: the TLS handshake, or STARTTLS, failed"),
    (r"\beprotocol\b", "nodemailer's EPROTOCOL: the server's reply was not what SMTP allows there (often its "
                       "greeting)"),
    (r"\beenvelope\b", "nodemailer's EENVELOPE: the sender or the recipients were refused, or none were given"),
    (r"\bemessage\b", "nodemailer's EMESSAGE: the server refused the message itself, after its data"),
    (r"\bemaxrecipients\b", "nodemailer's EMAXRECIPIENTS: more recipients than its maxRecipients setting"),
    (r"\beproxy\b", "nodemailer's EPROXY: the proxy connection failed, before the mail server was reached"),
    (r"smtp error: data not accepted", "PHPMailer: the server refused the message after its data; PHPMailer "
                                       "keeps the reply: SMTPDebug = 2 shows it"),
    (r"the following from address failed", "PHPMailer: the server refused the sender (MAIL FROM)"),
    (r"the following recipients failed", "PHPMailer: the server refused the recipients (RCPT TO)"),
    (r"sslhandshakeexception", "MailKit's SslHandshakeException: the TLS handshake failed (a certificate that "
                               "is not trusted, TLS spoken to a plaintext port, or no TLS version in common); its "
                               "InnerException says which"),
    (r"smtpprotocolexception", "MailKit's SmtpProtocolException: the server broke the protocol or dropped "
                               "the connection"),
    (r"servicenotauthenticatedexception", "MailKit's ServiceNotAuthenticatedException: the server requires a login "
                                          "and the client had not logged in"),
    (r"servicenotconnectedexception", "MailKit's ServiceNotConnectedException: the client was used while not "
                                      "connected"),
    (r"saslexception", "MailKit's SaslException: the login mechanism's exchange failed"),
    # Ruby's net-smtp names its exception by the reply's digits alone (Net::SMTP::Response#exception_class, net-smtp
    # 0.3.1): 4xx SMTPServerBusy, 50x SMTPSyntaxError, 53x SMTPAuthenticationError, other 5xx SMTPFatalError.
    (r"net::smtpserverbusy", "Ruby's Net::SMTPServerBusy: the server answered with a temporary (4xx) failure, any of "
                             "them; the reply beside it says which"),
    (r"net::smtpsyntaxerror", "Ruby's Net::SMTPSyntaxError: the server answered 500 to 504 (a command or its "
                              "arguments refused); the reply beside it says which"),
    (r"net::smtpauthenticationerror", "Ruby's Net::SMTPAuthenticationError: the server answered 530 to 535 (a login "
                                      "required, or refused) at any command; the reply beside it says which"),
    (r"net::smtpfatalerror", "Ruby's Net::SMTPFatalError: the server answered with a permanent (5xx) failure other "
                             "than 50x and 53x; the reply beside it says which"),
    (r"net::smtpunknownerror", "Ruby's Net::SMTPUnknownError: the server's reply was not one net-smtp expected there "
                               "(no 2xx, 4xx or 5xx)"),
    # gen_smtp (Erlang, Elixir) with {tls, always}: STARTTLS was refused, or the handshake after it failed
    # (gen_smtp_client.erl, try_STARTTLS and do_STARTTLS). Its log line "Error in ssl upgrade" has the reason.
    (r"\btls_failed\b", "gen_smtp's tls_failed: STARTTLS was refused, or the TLS handshake after it failed; gen_smtp's "
                        "log ('Error in ssl upgrade: ...') or the reply to STARTTLS says which"),
    (r"lost connection after connect\b", "Postfix's log: the client hung up before sending any command; "
                                          "on the smtps service (465) a client that sent no TLS or broke off the "
                                          "handshake; elsewhere one that gave up waiting for the greeting"),
    (r"lost connection after (?:ehlo|helo)\b", "Postfix's log: the client hung up after the EHLO reply; it "
                                              "did not find what it needed there (STARTTLS, AUTH, a mechanism)"),
    (r"lost connection after starttls\b", "Postfix's log: the client hung up in the TLS handshake after "
                                         "STARTTLS; it refused the certificate, or found no TLS version in common"),
    (r"lost connection after auth\b", "Postfix's log: the client hung up during the login; a refused login, "
                                     "or a mechanism it could not finish"),
    (r"lost connection after (?:mail|rcpt)\b", "Postfix's log: the client hung up after the sender or a "
                                              "recipient, usually after the server refused it"),
    (r"lost connection after (?:data|end-of-message|bdat)\b",
     "Postfix's log: the connection broke while the message was sent; a timeout, a network drop, or a client "
     "that gave up on a large message"),
    (r"lost connection after unknown\b", "Postfix's log: the client hung up after a command the server did not "
                                        "know; often TLS spoken to a plaintext port"),
))

# Words of a TLS layer's error: the client was speaking TLS when it failed.
_TLS_LAYER = re.compile(
    r"ssl routines|\[ssl: |tls startup failed|ssl_connect|sslerror|ssleoferror|sslexception|sslhandshakeexception|"
    r"tls handshake|handshake fail|\btls: |ssl/tls|secure tls connection|ssl_error_|ssl operation failed|"
    r"certificate verify|x509: |sslv3 alert|tlsv1 alert|wrong version number|invalid peer certificate|"
    r"received fatal alert|peer is incompatible|corrupt message|schannel|sec_e_|sslstream|ssl connect error|"
    r"authentication failed because the remote party|tls error|handshake_failure|the remote certificate|"
    r"sslzeroreturnerror|tls/ssl connection has been closed|upgrading transport|handshake operation|"
    r"ssl: handshake"
)
# The most specific kind found hides the vaguer ones it implies.
_IMPLIED = {
    Network.CONNECT_TIMEOUT: {Network.TIMEOUT},
    Network.READ_TIMEOUT: {Network.TIMEOUT, Network.CLOSED},
    # Node's resolver names its own failure by the socket error it met asking the DNS server ("queryA ECONNREFUSED
    # smtp.example.com"): no connection to the mail server was tried.
    Network.NAME_TEMPORARY: {Network.NAME_NOT_FOUND, Network.TIMEOUT, Network.REFUSED},
}


@dataclass(frozen=True)
class ReplySeen:
    """One SMTP reply found in a text: its code and enhanced status code (either may be missing), the
    server's words after them, the stage it answered when the text says, and the piece of input read."""

    code: int | None
    enhanced: str | None
    words: str
    phase: Phase | None
    found: str
    status_field: bool = False  # a bounce's "Status:" field (RFC 3464 section 2.3.4): the relay's summary

    @property
    def temporary(self) -> bool | None:
        digit = str(self.code)[0] if self.code else (self.enhanced or "?")[0]
        return {"4": True, "5": False}.get(digit)

    @property
    def heard(self) -> bool:
        """Whether the server said it: not a bounce's Status: field, nor a relay's report that it never reached
        the server (RFC 3463 section 3.5: X.4.1 no answer, X.4.3 directory server failure, X.4.4 unable to
        route, X.4.7 delivery time expired, X.4.0)."""
        unreached = self.enhanced is not None and self.enhanced.split(".", 1)[1] in _UNREACHED
        return not (self.status_field or unreached)

    def __str__(self) -> str:
        return " ".join(part for part in (str(self.code) if self.code else "", self.enhanced or "") if part)


@dataclass(frozen=True)
class Seen:
    """A socket or resolver failure found in a text, and the piece of input that says so."""

    kind: Network
    found: str


@dataclass(frozen=True)
class Reading:
    """What a text tells by its structure."""

    replies: tuple[ReplySeen, ...] = ()
    network: tuple[Seen, ...] = ()
    phase: Phase | None = None
    tls: bool = False  # the text reports an error of the TLS layer
    greeted: bool = False  # a quoted conversation shows a reply from the server
    tls_started: bool = False  # ...and that STARTTLS was accepted
    auth_offered: bool | None = None  # ...and whether the EHLO reply listed AUTH (None: no EHLO reply shown)
    starttls_offered: bool | None = None  # ...and STARTTLS (None also once TLS had started: then it never is)
    foreign: tuple[str, str] | None = None  # the protocol that answered instead of SMTP, and its words
    server_log: bool = False  # the text is a server's log of a client's session, not a client's error
    told: str = ""  # what a program's generic message or code tells by itself (nodemailer's EAUTH, ...)
    auth_server_failed: bool = False  # the server's words blame its own login service, not the credentials
    auth_out_of_step: bool = False  # a quoted login exchange went out of step (see _Conversation)
    auth_sent: bool | None = None  # whether the quoted commands include a login (None: no commands shown)
    account_held: bool = False  # the server's words hold the account for spam or abuse (a robot check)
    wanted_first: str | None = None  # a command refused as out of order: the one the server wanted first ("ehlo")
    spam_content: bool = False  # the server's words judge the message itself as spam

    @property
    def kinds(self) -> set[Network]:
        return {seen.kind for seen in self.network}

    def summary(self) -> str:
        """In words: the stage, each reply and what its codes mean, the network failure."""
        parts = [f"{self.told[0].upper()}{self.told[1:]}."] if self.told else []
        if self.phase is not None:
            parts.append(f"It failed at {self.phase.label}.")
        for reply in self.replies[:3]:
            parts.append(f"The server answered {reply}: {_reply_words(reply)}.")
            if reply.words:
                parts.append(f"Its own words: \"{reply.words}\".")
        for seen in self.network[:2]:
            parts.append(f"The system said: {seen.kind.value} ({seen.found!r}).")
        return " ".join(parts)


def read(text: str) -> Reading:
    """The replies, network failures and stage in `text` (any client's output, a log, a transcript)."""
    lowered = text.lower()  # searched without IGNORECASE, which is ten times slower
    if len(lowered) != len(text):  # a rare letter that lower-cases to two: quote the lowered text
        text = lowered
    lines, lowered_lines = text.splitlines(), lowered.splitlines()
    conversation = _conversation(lowered_lines)
    phase = _global_phase(lowered, conversation)
    offered = _offered(lowered_lines, conversation.ehlo_at)
    return Reading(replies=_replies(lines, lowered_lines, phase, conversation), network=_network(text, lowered),
                   phase=phase, tls=_TLS_LAYER.search(lowered) is not None,
                   greeted=conversation.greeted or _SUCCESS_REPLY.search(lowered) is not None,
                   tls_started=conversation.tls,
                   auth_offered=None if offered is None else "auth" in offered,
                   starttls_offered=None if offered is None or conversation.tls else "starttls" in offered,
                   foreign=_foreign(text, lowered),
                   server_log=_SERVER_LOG.search(lowered) is not None,
                   told=next((meaning for pattern, meaning in _TOLD if pattern.search(lowered)), ""),
                   auth_server_failed=_AUTH_SERVER_FAILED.search(lowered) is not None,
                   auth_out_of_step=conversation.out_of_step,
                   auth_sent=_auth_sent(conversation, lowered),
                   account_held=re.search(ACCOUNT_HELD, lowered) is not None,
                   spam_content=re.search(SPAM_VERDICT, lowered) is not None,
                   wanted_first=next((wanted for wanted, pattern in _WANTED_FIRST_PATTERNS if pattern.search(lowered)),
                                     None))


# --------------------------------------------------------------------------------------------------
# Replies


def _replies(lines: list[str], lowered: list[str], phase: Phase | None,
             conversation: _Conversation) -> tuple[ReplySeen, ...]:
    seen: dict[tuple[int | None, str | None], ReplySeen] = {}
    for number, (line, lowered_line) in enumerate(zip(lines[:_MAX_LINES], lowered, strict=False)):
        for reply in _replies_in_line(line, lowered_line, conversation.phases.get(number, phase)):
            seen.setdefault((reply.code, reply.enhanced), reply)
        if len(seen) >= MAX_FOUND:
            break
    # A code alone that a fuller reply repeats ("535", then "535 5.7.8") says nothing more.
    codes = {reply.code for reply in seen.values() if reply.enhanced}
    enhanced = {reply.enhanced for reply in seen.values() if reply.code}
    return tuple(reply for reply in seen.values()
                 if not (reply.enhanced is None and reply.code in codes)
                 and not (reply.code is None and reply.enhanced in enhanced))


def _replies_in_line(line: str, lowered: str, phase: Phase | None) -> list[ReplySeen]:
    """The replies on one line, each read once: a code and enhanced code together first, then codes
    and enhanced codes on their own, paired when they sit on one line ("SMTP code: 550 Additional SMTP
    info: 5.7.1"). Success codes (2xx) are no failure and are left out."""
    spans: list[tuple[int, int, int | None, str | None]] = []  # start, end, code, enhanced

    def add(code: int | None, enhanced: str | None, start: int, end: int) -> None:
        if len(spans) >= MAX_FOUND:  # a line of thousands of codes says no more, and would cost their square
            return
        if code is not None and not 400 <= code <= 599:
            return
        if enhanced is not None and enhanced[0] == "2":
            return
        if code is not None and enhanced is not None and str(code)[0] != enhanced[0]:
            return
        if any(a <= start < b or start <= a < end for a, b, _, _ in spans):
            return
        spans.append((start, end, code, enhanced))

    for match in _CODE_AND_ENHANCED.finditer(line):
        add(int(match.group(1)), match.group(2), match.start(1), match.end(2))
    for match in _TUPLE.finditer(line):
        following = re.match(rf"\s*({_ENHANCED})(?![\w.])", line[match.end():])
        enhanced, end = (following.group(1), match.end() + following.end()) if following else (None, match.end())
        add(int(match.group(1)), enhanced, match.start(1), end)
    for match in _LETTRE.finditer(line):
        category, detail = _LETTRE_CATEGORY.get(match.group(2)), _LETTRE_DETAIL.get(match.group(3))
        if category is not None and detail is not None:
            code = (4 if match.group(1) == "Transient" else 5) * 100 + category * 10 + detail
            add(code, None, match.start(), match.end())
    for match in _CODE_AT_START.finditer(line):
        add(int(match.group(1)), None, match.start(1), match.end(1))
    for match in _CONVERSATION.finditer(lowered):
        if match.group(1):
            add(int(match.group(1)), None, match.start(1), match.end(1))
    for match in _CODE_AFTER.finditer(lowered):
        if not _NOT_A_CODE_BEFORE.search(lowered[max(0, match.start() - 12):match.start()]):
            add(int(match.group(1)), None, match.start(1), match.end(1))
    for match in _ENHANCED_ALONE.finditer(line):
        enhanced = match.group(1)
        lone = [span for span in spans if span[3] is None and str(span[2])[0] == enhanced[0]
                and span[1] <= match.start(1)]
        if lone and not any(a <= match.start(1) < b for a, b, _, _ in spans):
            spans.remove(lone[-1])
            spans.append((lone[-1][0], match.end(1), lone[-1][2], enhanced))
        else:
            add(None, enhanced, match.start(1), match.end(1))
    if not any(code for _, _, code, _ in spans):
        for sentence, code in _DOTNET_SENTENCES.items():
            start = lowered.find(sentence)
            if start >= 0:
                alone = next((span for span in spans if str(code)[0] == (span[3] or "?")[0]), None)
                if alone is not None:
                    spans.remove(alone)
                spans.append((start, alone[1] if alone else start + len(sentence), code, alone and alone[3]))
                break
    line_phase = (_line_phase(lowered) or phase) if spans else phase
    status_field = _STATUS_FIELD.match(lowered) is not None
    # Postfix's own log field "dsn=4.4.2" is its summary of the delivery, as a bounce's Status: field is.
    return [ReplySeen(code, enhanced, _words_after(line, end), line_phase, line[start:end].strip(),
                      status_field or lowered[max(0, start - 4):start] == "dsn=")
            for start, end, code, enhanced in sorted(spans)]


_WORDS_SHOWN = 200  # characters of a server's own words that a reading quotes


def _words_after(line: str, end: int) -> str:
    words = line[end:].strip(" -:'\"),").split("\\n")[0].strip()
    if len(words) <= _WORDS_SHOWN:
        return words
    return words[:_WORDS_SHOWN].rsplit(" ", 1)[0] + " …"  # cut between words, and say so


# --------------------------------------------------------------------------------------------------
# The stage


def _line_phase(line: str) -> Phase | None:  # `line` lower-cased
    for pattern, phase in _STAGE_WORDS:
        if pattern.search(line):
            return phase
    return None


def _global_phase(text: str, conversation: _Conversation) -> Phase | None:  # `text` lower-cased
    if conversation.refused_at is not None:
        return conversation.refused_at
    for pattern, phase in _STAGE_WORDS:
        if pattern.search(text):
            return phase
    return None


def _foreign(text: str, lowered: str) -> tuple[str, str] | None:
    for name, pattern in _FOREIGN:
        found = pattern.search(lowered)
        if found:
            return name, text[found.start():found.end()].strip(" =:\"'([>")
    return None


def _offered(lines: list[str], ehlo_at: list[int]) -> set[str] | None:  # `lines` lower-cased
    """The keywords of the EHLO reply in force when the text ends (None when it shows none): after STARTTLS a
    client says EHLO again (RFC 3207 section 4.2), and only that second reply counts. `ehlo_at`: the lines where
    each EHLO was sent; the text before the second is read as one (a log that does not show the commands)."""
    starts = [0, *ehlo_at[1:]]
    for start, end in reversed(list(zip(starts, [*starts[1:], len(lines)], strict=True))):
        keywords = {found.group(1) or found.group(2) for found in _EHLO_KEYWORD.finditer("\n".join(lines[start:end]))}
        if keywords:
            return keywords
    return None


@dataclass
class _Conversation:
    """What a quoted conversation shows: whether the server greeted, whether TLS began, and the command
    the first refusal answered."""

    greeted: bool = False
    tls: bool = False
    refused_at: Phase | None = None
    phases: dict[int, Phase] = field(default_factory=dict)  # line number -> the last command sent by then
    ehlo_at: list[int] = field(default_factory=list)  # the lines where an EHLO (or HELO) was sent
    # The login exchange went out of step: the server asked more often than the mechanism has steps (it ignored
    # an initial response), or the client began AUTH again while the server waited for an answer.
    out_of_step: bool = False
    commands: set[str] = field(default_factory=set)  # the commands the client was seen sending
    challenged: bool = False  # a 334 came: a login exchange was under way


# How many 334 challenges a mechanism takes, without and with an initial response (RFC 4954 section 4): PLAIN
# one or none (RFC 4616), LOGIN two or one (draft-murchison-sasl-login), CRAM-MD5 one (RFC 2195).
_CHALLENGES = {"plain": (1, 0), "login": (2, 1), "cram-md5": (1, 1)}
_AUTH_ARGUMENTS = re.compile(r"\s*([\w-]+)(?:[ \t]+(\S+))?")


def _conversation(lines: list[str]) -> _Conversation:  # `lines` lower-cased
    seen = _Conversation()
    command: str | None = None
    allowed: int | None = None  # the challenges the current AUTH may take (None: not counted)
    challenges, waiting = 0, False
    for number, line in enumerate(lines[:_MAX_LINES]):
        for match in _CONVERSATION.finditer(line):
            code, verb = match.group(1), match.group(2)
            if verb in ("ehlo", "helo"):
                seen.ehlo_at.append(number)
            if verb == "auth":
                seen.out_of_step = seen.out_of_step or waiting
                arguments = _AUTH_ARGUMENTS.match(line, match.end())
                steps = _CHALLENGES.get(arguments.group(1)) if arguments else None
                allowed = steps[bool(arguments.group(2))] if steps and arguments else None
                challenges, waiting = 0, False
            elif code == "334":
                challenges, waiting = challenges + 1, True
                seen.out_of_step = seen.out_of_step or (allowed is not None and challenges > allowed)
            elif code or verb:
                allowed, waiting = None, False
            if verb:
                command = verb
                seen.commands.add(verb)
            elif code == "334":
                seen.challenged = True
            elif code == "354":  # the message follows: a refusal now answers its end
                command = "."
            elif code == "220":
                seen.greeted = True
                seen.tls = seen.tls or command == "starttls"
            elif code[0] in "45" and seen.refused_at is None and command in _COMMAND_PHASE:
                seen.refused_at = _COMMAND_PHASE[command]
            if code:
                seen.greeted = True
        if command in _COMMAND_PHASE:
            seen.phases[number] = _COMMAND_PHASE[command]
    return seen


# A login named outside the conversation's marks, by the client: its mechanism (but not the EHLO reply's keyword,
# "250-AUTH LOGIN PLAIN", that offers one), Jakarta Mail's "Attempt to authenticate", PHPMailer's "Password command
# failed" (a transcript whose AUTH lines were left out), nodemailer's "Invalid login".
_LOGIN_NAMED = re.compile(r"(?<!250-)(?<!250 )\bauth (?:plain|login|xoauth2|oauthbearer|cram-md5|ntlm|gssapi)\b|"
                          r"attempt to authenticate|\b(?:password|username|auth) command\b|\binvalid login\b")


def _auth_sent(seen: _Conversation, lowered: str) -> bool | None:
    """Whether the client logged in, when the text shows the commands it sent (EHLO and at least one after it):
    a conversation quoted whole that holds no AUTH, no 334 challenge and no mechanism named had no login."""
    if not seen.commands - {"ehlo", "helo"}:
        return None
    return "auth" in seen.commands or seen.challenged or _LOGIN_NAMED.search(lowered) is not None


# --------------------------------------------------------------------------------------------------
# Network


def _network(text: str, lowered: str) -> tuple[Seen, ...]:
    found: dict[Network, Seen] = {}
    for kind, pattern in _NETWORK:
        match = pattern.search(lowered)
        if match:
            found[kind] = Seen(kind, text[match.start():match.end()].strip())
    hidden = set().union(*(_IMPLIED.get(kind, set()) for kind in found))
    return tuple(seen for kind, seen in found.items() if kind not in hidden)


# --------------------------------------------------------------------------------------------------
# What codes mean (RFC 5321 section 4.2; RFC 3463 section 3; the IANA registry of RFC 5248)

_CLASSES = {
    "2": "success",
    "4": "a temporary failure: the same attempt may work later",
    "5": "a permanent failure: sending the same again will fail again",
}
_SUBJECTS = {
    "0": "other or undefined",
    "1": "the address (sender or recipient)",
    "2": "the recipient's mailbox",
    "3": "the receiving mail system",
    "4": "the network or routing",
    "5": "the SMTP protocol (a command or its syntax)",
    "6": "the message content or its encoding",
    "7": "security or policy",
}
_DETAILS = {  # subject.detail: meaning (the RFC that registered it)
    "1.0": "other address status", "1.1": "bad destination mailbox address: no such recipient",
    "1.2": "bad destination system address", "1.3": "bad destination mailbox address syntax",
    "1.4": "destination mailbox address ambiguous", "1.6": "destination mailbox has moved",
    "1.7": "bad sender's mailbox address syntax", "1.8": "bad sender's system address",
    "1.10": "recipient address has a null MX (RFC 7505)",
    "2.0": "other or undefined mailbox status", "2.1": "mailbox disabled, not accepting messages",
    "2.2": "mailbox full, or over a quota", "2.3": "message length exceeds an administrative limit",
    "2.4": "mailing list expansion problem",
    "3.0": "other or undefined mail system status", "3.1": "mail system full",
    "3.2": "system not accepting network messages", "3.3": "system not capable of the selected features",
    "3.4": "message too big for the system", "3.5": "system incorrectly configured",
    "3.6": "requested priority was changed (RFC 6710)",
    "4.0": "other or undefined network or routing status", "4.1": "no answer from host",
    "4.2": "bad connection", "4.3": "directory server (DNS) failure", "4.4": "unable to route",
    "4.5": "mail system congestion", "4.6": "routing loop detected", "4.7": "delivery time expired",
    "5.0": "other or undefined protocol status", "5.1": "invalid command", "5.2": "syntax error",
    "5.3": "too many recipients", "5.4": "invalid command arguments", "5.5": "wrong protocol version",
    "5.6": "authentication exchange line too long (RFC 4954)",
    "6.0": "other or undefined media error", "6.1": "media not supported",
    "6.2": "conversion required and prohibited", "6.3": "conversion required but not supported",
    "6.4": "conversion with loss performed", "6.5": "conversion failed",
    "6.6": "message content not available (RFC 4468)",
    "6.7": "non-ASCII addresses not permitted for that sender or recipient (RFC 6531)",
    "6.8": "a UTF-8 reply is required but the client does not allow it (RFC 6531)",
    "6.9": "a UTF-8 header message cannot be transferred to a recipient (RFC 6531)",
    "7.0": "other or undefined security status", "7.1": "delivery not authorized, message refused",
    "7.2": "mailing list expansion prohibited", "7.3": "security conversion required but not possible",
    "7.4": "security features not supported", "7.5": "cryptographic failure",
    "7.6": "cryptographic algorithm not supported", "7.7": "message integrity failure",
    "7.8": "authentication credentials invalid (RFC 4954)",
    "7.9": "authentication mechanism too weak (RFC 4954)", "7.10": "encryption needed (RFC 5248)",
    "7.11": "encryption required for the authentication mechanism (RFC 4954)",
    "7.12": "a password transition is needed (RFC 4954)", "7.13": "user account disabled (RFC 5248)",
    "7.14": "trust relationship required (RFC 5248)", "7.15": "priority level too low (RFC 6710)",
    "7.16": "message too big for the specified priority (RFC 6710)",
    "7.17": "mailbox owner has changed (RFC 7293)", "7.18": "domain owner has changed (RFC 7293)",
    "7.19": "RRVS test cannot be completed (RFC 7293)", "7.20": "no passing DKIM signature found (RFC 7372)",
    "7.21": "no acceptable DKIM signature found (RFC 7372)",
    "7.22": "no valid author-matched DKIM signature found (RFC 7372)",
    "7.23": "SPF validation failed (RFC 7372)", "7.24": "SPF validation error (RFC 7372)",
    "7.25": "reverse DNS validation failed (RFC 7372)", "7.26": "multiple authentication checks failed (RFC 7372)",
    "7.27": "sender address has a null MX (RFC 7505)", "7.29": "ARC validation failure (RFC 8617)",
    "7.30": "REQUIRETLS support required (RFC 8689)",
}
_REPLY_CODES = {  # RFC 5321 section 4.2.2 and 4.2.3, RFC 4954 section 6, RFC 3207 section 4
    421: "service not available, closing the connection", 450: "mailbox unavailable (busy, or a temporary block)",
    451: "local error in processing", 452: "insufficient system storage, or too many recipients",
    454: "TLS or authentication temporarily unavailable",
    500: "syntax error, command unrecognised (or a line too long)", 501: "syntax error in parameters or arguments",
    502: "command not implemented", 503: "bad sequence of commands", 504: "command parameter not implemented",
    530: "authentication (or TLS) required", 534: "authentication mechanism too weak",
    535: "authentication credentials invalid", 538: "encryption required for the authentication mechanism",
    550: "mailbox unavailable, or refused by policy", 551: "user not local", 552: "exceeded storage allocation",
    553: "mailbox name not allowed", 554: "transaction failed", 555: "MAIL or RCPT parameters not recognised",
}
_UNREACHED = frozenset({"4.0", "4.1", "4.3", "4.4", "4.7"})
# Too general to point at one cause by themselves: every subject's "other or undefined" (X.Y.0), and
# X.7.1, which servers use for any policy refusal (relaying, spam, a blocked address).
GENERIC_DETAILS = frozenset({"7.1"} | {f"{subject}.0" for subject in _SUBJECTS})


def enhanced_meaning(enhanced: str) -> str:
    """An enhanced status code in words: '5.7.8' -> 'a permanent failure ...; security or policy: ...'."""
    klass, subject, detail = enhanced.split(".")
    words = [_CLASSES.get(klass, f"class {klass}"), _SUBJECTS.get(subject, f"subject {subject}")]
    meaning = _DETAILS.get(f"{subject}.{detail}")
    return f"{words[0]}; {words[1]}" + (f": {meaning}" if meaning else f" (detail {detail}, not in the registry)")


def reply_meaning(code: int) -> str:
    """A reply code in words, by its digits (RFC 5321 section 4.2.1) and its usual meaning."""
    usual = _REPLY_CODES.get(code)
    klass = _CLASSES.get(str(code)[0], "not a failure")
    return f"{klass}" + (f"; usually {usual}" if usual else "")


def _reply_words(reply: ReplySeen) -> str:
    if reply.enhanced:
        return enhanced_meaning(reply.enhanced)
    return reply_meaning(reply.code) if reply.code else "no reply code"


def is_generic(enhanced: str | None) -> bool:
    """True for an enhanced code too general to name a cause (X.Y.0, X.7.1)."""
    return enhanced is None or enhanced.split(".", 1)[1] in GENERIC_DETAILS
