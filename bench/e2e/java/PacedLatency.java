import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The Java Kafka client's end-to-end latency at a fixed rate, for bench/e2e/igwn_latency.ts: a
 * producer thread sends one record of `size` bytes every 1/rate s (acks=all, linger.ms=0, the
 * client's defaults otherwise: idempotent), a consumer in the main thread polls with
 * fetch.max.wait.ms = `maxWaitMs` (0 polls without waiting on the broker, as Kafka's own
 * EndToEndLatency tool does). The first 8 bytes of each value are System.nanoTime() at the send.
 * Arguments: bootstrap topic count rate size maxWaitMs warm. Prints one line:
 * {@code java p50_us p90_us p99_us max_us records}.
 */
public class PacedLatency {
  public static void main(String[] a) throws Exception {
    String bootstrap = a[0], topic = a[1];
    int count = Integer.parseInt(a[2]), rate = Integer.parseInt(a[3]), size = Integer.parseInt(a[4]);
    int warm = Integer.parseInt(a[6]), total = warm + count;
    Properties cp = new Properties();
    cp.put("bootstrap.servers", bootstrap);
    cp.put("group.id", "paced-" + System.nanoTime());
    cp.put("enable.auto.commit", "false");
    cp.put("fetch.max.wait.ms", a[5]);
    cp.put("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    cp.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp);
    TopicPartition tp = new TopicPartition(topic, 0);
    consumer.assign(List.of(tp));
    consumer.seekToEnd(List.of(tp));
    consumer.position(tp);
    Properties pp = new Properties();
    pp.put("bootstrap.servers", bootstrap);
    pp.put("acks", "all");
    pp.put("linger.ms", "0");
    pp.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
    pp.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
    KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp);
    producer.partitionsFor(topic);
    Thread sender = new Thread(() -> {
      long t0 = System.nanoTime();
      for (int i = 0; i < total; i++) {
        long due = t0 + (long) i * 1_000_000_000L / rate;
        for (long w; (w = due - System.nanoTime()) > 0;) {
          try {
            Thread.sleep(w / 1_000_000, (int) (w % 1_000_000));
          } catch (InterruptedException e) {
            return;
          }
        }
        byte[] v = new byte[size];
        ByteBuffer.wrap(v).putLong(System.nanoTime());
        producer.send(new ProducerRecord<>(topic, v));
      }
    });
    sender.start();
    long[] lat = new long[total];
    int n = 0;
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (n < total && System.nanoTime() < deadline) {
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(1000))) {
        long now = System.nanoTime();
        if (n < total) lat[n++] = now - ByteBuffer.wrap(r.value()).getLong();
      }
    }
    sender.join();
    producer.close();
    consumer.close();
    long[] l = Arrays.copyOfRange(lat, Math.min(warm, n), n);
    Arrays.sort(l);
    if (l.length == 0) throw new IllegalStateException("no record arrived");
    System.out.printf("java %d %d %d %d %d%n", l[l.length / 2] / 1000, l[(int) (l.length * 0.9)] / 1000,
        l[(int) (l.length * 0.99)] / 1000, l[l.length - 1] / 1000, l.length);
  }
}
