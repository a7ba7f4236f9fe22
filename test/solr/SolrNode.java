import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.solr.common.cloud.SolrZkClient;
import org.apache.solr.common.cloud.ZkMaintenanceUtils;
import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;

/**
 * Runs one real Solr node for the tests, from the Maven jars (no Solr distribution needed).
 *
 * Solr publishes no runnable server artifact, so this uses JettySolrRunner from
 * solr-test-framework: the same SolrDispatchFilter and CoreContainer that bin/solr runs,
 * in an embedded Jetty on one port with the "/solr" context.
 *
 *   java -cp '.cache/jars/solr-9/*:.cache/solr-launcher' SolrNode \
 *     --home DIR --port 8983 [--host 127.0.0.1] [--zk 127.0.0.1:2181] \
 *     [--configset NAME=DIR]... [--zk-file ZNODE=FILE]... [--zk-only true]
 *
 * --home      the Solr home (holds solr.xml; standalone cores live under it)
 * --zk        cloud mode: the ZooKeeper connect string (sets the zkHost node property)
 * --configset uploaded to /configs/NAME in ZooKeeper before the node starts
 * --zk-file   a file written to ZNODE before the node starts (e.g. /security.json)
 * --zk-only   only do the ZooKeeper writes above, then exit (tests use it to edit state.json)
 *
 * Prints "SOLR_NODE_READY <node_name>" once the node serves requests. SIGTERM stops
 * it the way Solr does on shutdown: it publishes its replicas as down in ZooKeeper.
 */
public final class SolrNode {
  public static void main(String[] argv) {
    try {
      run(argv);
    } catch (Throwable t) {
      // Jetty's threads would keep a half-started JVM alive: a failed start must end the process.
      t.printStackTrace();
      System.exit(1);
    }
  }

  private static void run(String[] argv) throws Exception {
    Map<String, List<String>> a = parse(argv);
    String zk = one(a, "zk", null);
    boolean zkOnly = "true".equals(one(a, "zk-only", "false"));

    if (zk != null && (a.containsKey("configset") || a.containsKey("zk-file"))) {
      try (SolrZkClient client = new SolrZkClient.Builder().withUrl(zk).withTimeout(30, TimeUnit.SECONDS).build()) {
        for (String spec : a.getOrDefault("configset", List.of())) {
          String[] kv = spec.split("=", 2);
          ZkMaintenanceUtils.uploadToZK(client, Path.of(kv[1]), "/configs/" + kv[0], ZkMaintenanceUtils.UPLOAD_FILENAME_EXCLUDE_PATTERN);
        }
        for (String spec : a.getOrDefault("zk-file", List.of())) {
          String[] kv = spec.split("=", 2);
          byte[] data = Files.readAllBytes(Path.of(kv[1]));
          if (client.exists(kv[0], true)) client.setData(kv[0], data, true);
          else client.makePath(kv[0], data, true);
        }
      }
    }

    if (zkOnly) return;
    Path home = Path.of(one(a, "home", null)).toAbsolutePath();
    int port = Integer.parseInt(one(a, "port", null));
    String host = one(a, "host", "127.0.0.1");

    Properties props = new Properties();
    props.setProperty("host", host);
    props.setProperty("hostPort", String.valueOf(port));
    props.setProperty("hostContext", "solr");
    if (zk != null) props.setProperty("zkHost", zk);

    JettyConfig config = JettyConfig.builder().setPort(port).setContext("/solr").stopAtShutdown(false).build();
    JettySolrRunner runner = new JettySolrRunner(home.toString(), props, config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        runner.stop();
      } catch (Exception e) {
        e.printStackTrace();
      } finally {
        stopped.countDown();
      }
    }, "solr-node-stop"));
    runner.start();
    if (runner.getCoreContainer() == null) throw new IllegalStateException("the CoreContainer did not start");
    String nodeName = runner.getCoreContainer().isZooKeeperAware() ? runner.getNodeName() : "standalone";
    System.out.println("SOLR_NODE_READY " + nodeName + " " + runner.getBaseUrl());
    System.out.flush();
    stopped.await();
  }

  private static Map<String, List<String>> parse(String[] argv) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (int i = 0; i < argv.length; i++) {
      if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new IllegalArgumentException("bad argument: " + argv[i]);
      out.computeIfAbsent(argv[i].substring(2), k -> new ArrayList<>()).add(argv[++i]);
    }
    return out;
  }

  private static String one(Map<String, List<String>> a, String key, String dflt) {
    List<String> v = a.get(key);
    if (v == null || v.isEmpty()) {
      if (dflt == null && !key.equals("zk")) throw new IllegalArgumentException("missing --" + key);
      return dflt;
    }
    return v.get(v.size() - 1);
  }
}
