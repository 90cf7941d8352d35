// Sends one message with Jakarta Mail (Debian's libjakarta-mail-java) and prints what went wrong exactly as
// Jakarta Mail reports it (the exception's toString(), which includes the nested exception).
//
// Settings come from the environment (tests/clients/README.md): SMTP_HOST, SMTP_PORT, SMTP_MODE
// (implicit or starttls), SMTP_CA_FILE, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TO, SMTP_TIMEOUT.
// Exit status: 0 sent, 1 failed.
//
//   java -cp /usr/share/java/jakarta-mail.jar:/usr/share/java/jakarta-activation.jar Send.java

import jakarta.mail.Authenticator;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.PasswordAuthentication;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.Properties;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

public class Send {
    public static void main(String[] args) throws IOException, GeneralSecurityException {
        boolean implicit = System.getenv("SMTP_MODE").equals("implicit");
        String timeout = String.valueOf((int) (1000 * Double.parseDouble(envOr("SMTP_TIMEOUT", "10"))));
        Properties props = new Properties();
        props.put("mail.smtp.host", System.getenv("SMTP_HOST"));
        props.put("mail.smtp.port", System.getenv("SMTP_PORT"));
        props.put("mail.smtp.auth", "true");
        if (implicit) {
            props.put("mail.smtp.ssl.enable", "true"); // port 465: TLS from the first byte
        } else {
            props.put("mail.smtp.starttls.enable", "true"); // port 587: STARTTLS...
            props.put("mail.smtp.starttls.required", "true"); // ...or fail, instead of going on without it
        }
        // Jakarta Mail 2.0 checks the chain but not the host name unless asked.
        props.put("mail.smtp.ssl.checkserveridentity", "true");
        if (System.getenv("SMTP_CA_FILE") != null) {
            // Trust this CA instead of the JDK's cacerts; used for implicit TLS and for STARTTLS alike (an
            // object, so put(), not setProperty()). Without fallback=false a failed connection would be
            // tried again with the default factory, and the error would be about the JDK's cacerts.
            props.put("mail.smtp.ssl.socketFactory", socketFactoryTrusting(System.getenv("SMTP_CA_FILE")));
            props.put("mail.smtp.socketFactory.fallback", "false");
        }
        props.put("mail.smtp.connectiontimeout", timeout); // Jakarta Mail's defaults: wait forever
        props.put("mail.smtp.timeout", timeout);
        props.put("mail.smtp.writetimeout", timeout);

        Session session = Session.getInstance(props, new Authenticator() {
            @Override
            protected PasswordAuthentication getPasswordAuthentication() {
                return new PasswordAuthentication(System.getenv("SMTP_USER"), System.getenv("SMTP_PASSWORD"));
            }
        });
        try {
            MimeMessage message = new MimeMessage(session);
            message.setFrom(new InternetAddress(System.getenv("SMTP_FROM")));
            message.setRecipient(Message.RecipientType.TO, new InternetAddress(System.getenv("SMTP_TO")));
            message.setSubject("Hello from Jakarta Mail");
            message.setText("Hi!\n");
            Transport.send(message);
        } catch (MessagingException e) {
            System.err.println(e);
            System.exit(1);
        }
        System.out.println("sent");
    }

    /** An SSLSocketFactory whose only trusted root is the PEM certificate in caFile. */
    static SSLSocketFactory socketFactoryTrusting(String caFile) throws IOException, GeneralSecurityException {
        KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
        trusted.load(null, null);
        try (InputStream pem = new FileInputStream(caFile)) {
            trusted.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(pem));
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context.getSocketFactory();
    }

    static String envOr(String name, String fallback) {
        String value = System.getenv(name);
        return value == null ? fallback : value;
    }
}
