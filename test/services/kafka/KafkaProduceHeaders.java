// Produces one record whose headers KafkaJS and node-rdkafka's producer cannot write: a header
// with a null value (KafkaJS 2.2 fails to size one; node-rdkafka's producer turns values into
// strings). The native consume test compares how both consume paths hand such headers to
// JavaScript. Run with Java's single-file source launcher (test/support/kafka.ts produceWithHeaders):
//   java -cp "target/lib/*" KafkaProduceHeaders.java 127.0.0.1:9092 TOPIC PARTITION [NAME | NAME=VALUE]...
// A bare NAME is a header with a null value, NAME= one with an empty value. The record's value is
// "headers", its key null. Prints the record's offset; exit 1 on failure.
import java.nio.charset.StandardCharsets;
import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class KafkaProduceHeaders {
    public static void main(String[] args) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "sluice-produce-headers");
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(args[1], Integer.parseInt(args[2]), null,
            "headers".getBytes(StandardCharsets.UTF_8));
        for (int i = 3; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq < 0) record.headers().add(args[i], null);
            else record.headers().add(args[i].substring(0, eq), args[i].substring(eq + 1).getBytes(StandardCharsets.UTF_8));
        }
        int code = 1;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            System.out.println(producer.send(record).get().offset());
            code = 0;
        } catch (Exception e) {
            System.err.println("produce failed: " + e);
        }
        System.exit(code);
    }
}
