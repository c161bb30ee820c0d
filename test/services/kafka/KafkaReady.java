// Readiness probe for the local Kafka broker: one Admin describeCluster call (and, when asked, the
// test user's SCRAM credentials).
// Compiled by kafka_build (test/services/lib/kafka.sh) against target/lib into target/probe.
// Usage: java -cp "target/probe:target/lib/*" KafkaReady 127.0.0.1:9092 [timeoutMs [SASL_BOOTSTRAP USER PASSWORD]]
// Exit 0 and print "cluster <id> brokers <n>" once the broker answers with at least one
// unfenced broker; exit 1 otherwise. With SASL_BOOTSTRAP USER PASSWORD, once the broker is ready
// the same JVM makes sure USER can log in with SCRAM (KafkaScramUsers.ensure: upserts the
// credentials when a login fails); exit 2 when that fails, which waiting would not fix.
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;

public final class KafkaReady {
    public static void main(String[] args) {
        String bootstrap = args.length > 0 ? args[0] : "127.0.0.1:9092";
        int timeoutMs = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "sluice-kafka-ready");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs));
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs));
        props.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
        int code = 1;
        try (Admin admin = Admin.create(props)) {
            DescribeClusterResult result =
                admin.describeCluster(new DescribeClusterOptions().timeoutMs(timeoutMs));
            String clusterId = result.clusterId().get();
            int brokers = result.nodes().get().size();
            if (brokers > 0) {
                System.out.println("cluster " + clusterId + " brokers " + brokers);
                code = args.length >= 5 ? scramUser(bootstrap, args[2], args[3], args[4]) : 0;
            } else {
                System.err.println("no unfenced broker yet");
            }
        } catch (Exception e) {
            System.err.println("not ready: " + e);
        }
        System.exit(code);
    }

    private static int scramUser(String bootstrap, String saslBootstrap, String user, String password) {
        try {
            KafkaScramUsers.ensure(bootstrap, saslBootstrap, user, password, 10000);
            return 0;
        } catch (Exception e) {
            System.err.println("scram credentials not in place: " + e);
            return 2;
        }
    }
}
