<?php
// Sends one message with Symfony Mailer (Debian's php-symfony-mailer) and prints what went wrong exactly
// as Symfony reports it (the exception's class and message).
//
// Settings come from the environment (tests/clients/README.md): SMTP_HOST, SMTP_PORT, SMTP_MODE
// (implicit or starttls), SMTP_CA_FILE, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TO, SMTP_TIMEOUT.
// Exit status: 0 sent, 1 failed.

require '/usr/share/php/Symfony/Component/Mailer/autoload.php';

use Symfony\Component\Mailer\Exception\TransportExceptionInterface;
use Symfony\Component\Mailer\Mailer;
use Symfony\Component\Mailer\Transport;
use Symfony\Component\Mime\Email;

// smtps:// is TLS from the first byte (port 465); smtp:// upgrades with STARTTLS when the server offers it
// (port 587). The DSN is a URL: user and password must be URL-encoded.
$scheme = getenv('SMTP_MODE') === 'implicit' ? 'smtps' : 'smtp';
$dsn = sprintf('%s://%s:%s@%s:%d', $scheme, rawurlencode(getenv('SMTP_USER')), rawurlencode(getenv('SMTP_PASSWORD')),
               getenv('SMTP_HOST'), (int) getenv('SMTP_PORT'));
$transport = Transport::fromDsn($dsn);
// PHP's stream options: verify the chain and the name, trusting the CA in this file instead of the system's.
$stream = $transport->getStream();
if (getenv('SMTP_CA_FILE')) {
    $stream->setStreamOptions(['ssl' => ['cafile' => getenv('SMTP_CA_FILE'), 'verify_peer' => true, 'verify_peer_name' => true]]);
}
$stream->setTimeout((float) (getenv('SMTP_TIMEOUT') ?: 10));  // else PHP's default_socket_timeout, 60 s

$email = (new Email())
    ->from(getenv('SMTP_FROM'))
    ->to(getenv('SMTP_TO'))
    ->subject('Hello from Symfony Mailer')
    ->text("Hi!\n");
try {
    (new Mailer($transport))->send($email);
} catch (TransportExceptionInterface $error) {
    fwrite(STDERR, get_class($error) . ': ' . $error->getMessage() . "\n");
    exit(1);
}
echo "sent\n";
