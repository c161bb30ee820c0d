// Deletes the records of one partition below an offset (Admin.deleteRecords, what Kafka's
// kafka-delete-records tool does): the log start moves up as retention would move it. The jars
// the test broker runs from have no kafka-tools jar, so tests run this file with Java's
// single-file source launcher (test/support/kafka.ts deleteRecordsBefore):
//   java -cp "target/lib/*" KafkaDeleteRecords.java 127.0.0.1:9092 TOPIC PARTITION OFFSET
// Prints the new log start offset; exit 1 on failure.
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;

public final class KafkaDeleteRecords {
    public static void main(String[] args) {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "sluice-delete-records");
        TopicPartition tp = new TopicPartition(args[1], Integer.parseInt(args[2]));
        int code = 1;
        try (Admin admin = Admin.create(props)) {
            long low = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(Long.parseLong(args[3]))))
                .lowWatermarks().get(tp).get().lowWatermark();
            System.out.println(low);
            code = 0;
        } catch (Exception e) {
            System.err.println("delete records failed: " + e);
        }
        System.exit(code);
    }
}
