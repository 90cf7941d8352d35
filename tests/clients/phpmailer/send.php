<?php
// Sends one message with PHPMailer (Debian's libphp-phpmailer) and prints what went wrong exactly as
// PHPMailer reports it (its exception message, which is also $mail->ErrorInfo).
//
// Settings come from the environment (tests/clients/README.md): SMTP_HOST, SMTP_PORT, SMTP_MODE
// (implicit or starttls), SMTP_CA_FILE, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TO, SMTP_TIMEOUT.
// Exit status: 0 sent, 1 failed.

require '/usr/share/php/libphp-phpmailer/autoload.php';

use PHPMailer\PHPMailer\Exception;
use PHPMailer\PHPMailer\PHPMailer;

$mail = new PHPMailer(true);  // true: throw exceptions instead of returning false
$mail->isSMTP();
$mail->Host = getenv('SMTP_HOST');
$mail->Port = (int) getenv('SMTP_PORT');
$mail->SMTPSecure = getenv('SMTP_MODE') === 'implicit'
    ? PHPMailer::ENCRYPTION_SMTPS       // port 465: TLS from the first byte
    : PHPMailer::ENCRYPTION_STARTTLS;   // port 587: STARTTLS, required (not only "if offered")
$mail->SMTPAuth = true;
$mail->Username = getenv('SMTP_USER');
$mail->Password = getenv('SMTP_PASSWORD');
$mail->Timeout = (int) (getenv('SMTP_TIMEOUT') ?: 10);  // PHPMailer's default is 300 s
// PHP's stream options: verify the chain and the name, trusting the CA in this file instead of the system's.
if (getenv('SMTP_CA_FILE')) {
    $mail->SMTPOptions = ['ssl' => ['cafile' => getenv('SMTP_CA_FILE'), 'verify_peer' => true, 'verify_peer_name' => true]];
}

try {
    $mail->setFrom(getenv('SMTP_FROM'));
    $mail->addAddress(getenv('SMTP_TO'));
    $mail->Subject = 'Hello from PHPMailer';
    $mail->Body = "Hi!\n";
    $mail->send();
} catch (Exception $error) {
    fwrite(STDERR, $error->getMessage() . "\n");
    exit(1);
}
echo "sent\n";
