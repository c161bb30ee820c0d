// Makes sure one user can log in with SCRAM-SHA-256 and SCRAM-SHA-512 on the SASL_PLAINTEXT
// listener: tries each login, upserts the credentials of the mechanisms that failed, then logs in
// again. Idempotent, and writes nothing to the cluster metadata when the logins already work.
// Called by KafkaReady once the broker is ready (one JVM start per `services.sh up`, not two);
// compiled with it by kafka_build (test/services/lib/kafka.sh) into target/probe.
// Standalone: java -cp "target/probe:target/lib/*" KafkaScramUsers BOOTSTRAP SASL_BOOTSTRAP USER PASSWORD [timeoutMs]
//
// SCRAM credentials live in the cluster metadata. StorageTool can add them only when it formats
// the storage, so a data dir formatted earlier would never get them; the Admin API works on any.
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.errors.SaslAuthenticationException;

public final class KafkaScramUsers {
    // Kafka's minimum (and the default of kafka-configs.sh).
    private static final int ITERATIONS = 4096;
    private static final List<ScramMechanism> MECHANISMS =
        List.of(ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512);

    public static void main(String[] args) {
        if (args.length < 4) {
            System.err.println("usage: KafkaScramUsers BOOTSTRAP SASL_BOOTSTRAP USER PASSWORD [timeoutMs]");
            System.exit(2);
        }
        try {
            ensure(args[0], args[1], args[2], args[3], args.length > 4 ? Integer.parseInt(args[4]) : 10000);
            System.exit(0);
        } catch (Exception e) {
            System.err.println("scram credentials not in place: " + e);
            System.exit(1);
        }
    }

    /** Returns once USER/PASSWORD logs in with every SCRAM mechanism; throws otherwise. */
    public static void ensure(String bootstrap, String saslBootstrap, String user, String password, int timeoutMs) throws Exception {
        List<ScramMechanism> missing = new ArrayList<>();
        for (ScramMechanism m : MECHANISMS) {
            if (!canLogin(saslBootstrap, m, user, password, timeoutMs)) missing.add(m);
        }
        if (missing.isEmpty()) {
            System.out.println("scram " + user + " " + MECHANISMS + " already in place");
            return;
        }
        // One request per mechanism: the controller refuses a request that alters one user twice
        // ("A user credential cannot be altered twice in the same request"), even for two mechanisms.
        try (Admin admin = Admin.create(props(bootstrap, timeoutMs))) {
            for (ScramMechanism m : missing) {
                admin.alterUserScramCredentials(List.of(
                    new UserScramCredentialUpsertion(user, new ScramCredentialInfo(m, ITERATIONS), password))).all().get();
            }
        }
        // The controller acknowledges an upsert once it is committed; the broker applies it to its
        // credential cache a moment later, so a login right after can still fail. Retry until the
        // deadline rather than report a broker that is about to be ready as broken.
        long deadline = System.currentTimeMillis() + timeoutMs;
        for (ScramMechanism m : missing) {
            while (!canLogin(saslBootstrap, m, user, password, timeoutMs)) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException(m.mechanismName() + " login of " + user + " still fails after the upsert");
                }
                Thread.sleep(100);
            }
        }
        System.out.println("scram " + user + " " + missing + " upserted");
    }

    // False on an authentication failure; any other error (broker down, listener missing) throws.
    private static boolean canLogin(String saslBootstrap, ScramMechanism m, String user, String password, int timeoutMs) throws Exception {
        Properties props = props(saslBootstrap, timeoutMs);
        props.put(AdminClientConfig.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        props.put("sasl.mechanism", m.mechanismName());
        props.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
            + user + "\" password=\"" + password + "\";");
        try (Admin admin = Admin.create(props)) {
            admin.describeCluster(new DescribeClusterOptions().timeoutMs(timeoutMs)).clusterId().get();
            return true;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SaslAuthenticationException) return false;
            throw e;
        }
    }

    private static Properties props(String bootstrap, int timeoutMs) {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "sluice-kafka-scram-users");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs));
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs));
        props.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
        return props;
    }
}
