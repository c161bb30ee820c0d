// Describes one consumer group as the broker sees it (Admin.describeConsumerGroups, what Kafka's
// kafka-consumer-groups tool does): the protocol it runs under and each member's partitions. Run
// with Java's single-file source launcher (test/support/kafka.ts describeGroup):
//   java -cp "target/lib/*" KafkaDescribeGroup.java 127.0.0.1:9092 GROUP
// Prints {"type":"consumer","state":"Stable","members":[["topic[0]",…],…]}; exit 1 on failure.
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;

public final class KafkaDescribeGroup {
    public static void main(String[] args) {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "sluice-describe-group");
        int code = 1;
        try (Admin admin = Admin.create(props)) {
            ConsumerGroupDescription g = admin.describeConsumerGroups(List.of(args[1])).describedGroups().get(args[1]).get();
            String members = g.members().stream()
                .map(m -> m.assignment().topicPartitions().stream()
                    .sorted((a, b) -> a.toString().compareTo(b.toString()))
                    .map(tp -> "\"" + tp.topic() + "[" + tp.partition() + "]\"")
                    .collect(Collectors.joining(",", "[", "]")))
                .collect(Collectors.joining(",", "[", "]"));
            System.out.println("{\"type\":\"" + g.type().toString().toLowerCase() + "\",\"state\":\"" + g.groupState() + "\",\"members\":" + members + "}");
            code = 0;
        } catch (Exception e) {
            System.err.println("describe group failed: " + e);
        }
        System.exit(code);
    }
}
