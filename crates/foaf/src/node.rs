//! `foaf node`: a standalone BOLT #8 node that speaks BOLT #14 to real Lightning peers.
//!
//! LDK's `PeerManager` over `lightning-net-tokio` (crate `foaf-ldk`) with the sans-IO node of
//! `foaf-peer` behind it. Channels come from a JSON file (no blockchain needed), in the
//! conformance pipe protocol's channel shape. Every BOLT #14 message sent or received is logged
//! on stdout, one line each, human-readable or (`--json`) as JSON objects, so that an implementer
//! pointing their own node at this one sees exactly what crossed the wire.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use foaf_ldk::{
    parse_node_id, system_clock, AdapterConfig, EventSink, FoafEvent, FoafNode, LdkLevel,
    NodeConfig, PublicKey, StaticChannels, DEFAULT_FEATURE_BIT,
};
use foaf_peer::{Config, Node};
use foaf_wire::json::to_json;
use foaf_wire::{ChainHash, Flow, Message, MessageTypes};
use serde_json::{json, Value};

use crate::output::LineOut;
use crate::CliError;

/// Arguments of `foaf node` (boxed: they are many, and `main`'s subcommand enum stays small).
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    inner: Box<NodeArgs>,
}

/// The options of `foaf node`.
#[derive(clap::Args)]
pub struct NodeArgs {
    /// Address to accept BOLT #8 connections on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:9735", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The node key's 32-byte seed as hex: the same seed, the same node id.
    #[arg(long, value_name = "HEX", conflicts_with = "key_file")]
    pub seed: Option<String>,
    /// A file holding the seed as hex; created with a random seed if it does not exist.
    /// Without --seed or --key-file the node id is new on every run.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Our channels: a JSON list of {"scid","peer","capacity","local","announced","state"}
    /// (amounts in msat, peer a node id in hex), as in the conformance pipe protocol.
    #[arg(long, value_name = "FILE")]
    pub channels: Option<PathBuf>,
    /// The public channel graph: a JSON list of "BLOCKxTXxOUT" strings (our announced channels
    /// are always part of it).
    #[arg(long, value_name = "FILE")]
    pub graph: Option<PathBuf>,
    /// The chain we serve: bitcoin, testnet, testnet4, signet, regtest or a chain hash in hex.
    #[arg(long, default_value = "bitcoin")]
    pub chain: String,
    /// Connect to a peer at start (repeatable).
    #[arg(long, value_name = "PUBKEY@HOST:PORT")]
    pub connect: Vec<String>,
    /// Send a query_foaf_balances to every --connect peer every SECS seconds (reconnecting if
    /// needed).
    #[arg(long, value_name = "SECS")]
    pub query_every: Option<u64>,
    /// flow_value of the scheduled queries: 1 (we want to push funds) or 0 (to receive).
    #[arg(long, default_value_t = 1, value_name = "0|1")]
    pub query_flow: u8,
    /// amt_to_rebalance of the scheduled queries, in millisatoshi.
    #[arg(long, default_value_t = 100_000_000, value_name = "MSAT")]
    pub query_amt: u64,
    /// The message types of query_foaf_balances and reply_foaf_balances, as `QUERY,REPLY`
    /// (default 347,349), e.g. custom-range types for lnd without an override.
    #[arg(long, value_name = "QUERY,REPLY")]
    pub types: Option<String>,
    /// The option_balance_sharing feature bit we advertise in init (we set the odd bit of its
    /// pair; default: the experimental pair 214/215 of docs/bolt14.md §2.1).
    #[arg(long, default_value_t = DEFAULT_FEATURE_BIT, value_name = "BIT")]
    pub feature_bit: usize,
    /// Advertise no feature bit (and so send to every peer).
    #[arg(long)]
    pub no_feature_bit: bool,
    /// Also send to peers whose init lacks the feature pair (docs/bolt14.md §2.1 forbids it;
    /// for testing implementations that cannot advertise the bit).
    #[arg(long)]
    pub ignore_peer_features: bool,
    /// Log one JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Stop after SECS seconds (for demos and scripts); otherwise run until Ctrl-C.
    #[arg(long, value_name = "SECS")]
    pub run_for: Option<u64>,
    /// Break one BOLT #14 rule on purpose (a fault of `foaf pipe --list-faults`), to show that
    /// a test suite pointed at this node catches it.
    #[arg(long, value_name = "NAME")]
    pub fault: Option<foaf_peer::Fault>,
    /// Inbound connections from one IP address, at most (more are closed at once).
    #[arg(long, value_name = "N", default_value_t = foaf_ldk::ConnectionLimits::default().per_ip)]
    pub max_connections_per_ip: usize,
    /// Inbound connections in all, at most.
    #[arg(long, value_name = "N", default_value_t = foaf_ldk::ConnectionLimits::default().total)]
    pub max_connections: usize,
    /// Also print LDK's own log at this level or above on stderr
    /// (gossip, trace, debug, info, warn, error).
    #[arg(long, value_name = "LEVEL")]
    pub ldk_log: Option<String>,
}

/// A `--connect` target.
struct Target {
    id: PublicKey,
    addr: SocketAddr,
}

fn parse_target(s: &str) -> Result<Target, String> {
    let (id, addr) = s
        .split_once('@')
        .ok_or_else(|| format!("--connect {s:?}: expected PUBKEY@HOST:PORT"))?;
    let id = parse_node_id(id).map_err(|e| format!("--connect: {e}"))?;
    let addr = std::net::ToSocketAddrs::to_socket_addrs(addr)
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("--connect {s:?}: {addr:?} is not HOST:PORT"))?;
    Ok(Target { id, addr })
}

fn parse_seed(s: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(s.trim()).map_err(|e| format!("seed is not hex: {e}"))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("seed must be 32 bytes (64 hex digits), got {}", b.len()))
}

fn load_or_create_seed(path: &Path) -> Result<[u8; 32], CliError> {
    match std::fs::read_to_string(path) {
        Ok(s) => parse_seed(&s)
            .map_err(|e| CliError::BadInput(format!("--key-file {}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let seed = random_seed();
            write_secret(path, &format!("{}\n", hex::encode(seed))).map_err(|e| {
                CliError::Failed(format!("cannot write --key-file {}: {e}", path.display()))
            })?;
            Ok(seed)
        }
        Err(e) => Err(CliError::Failed(format!(
            "cannot read --key-file {}: {e}",
            path.display()
        ))),
    }
}

/// Creates `path` (never overwrites) readable by its owner only: it holds the node's secret.
fn write_secret(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(text.as_bytes())
}

fn random_seed() -> [u8; 32] {
    use rand::RngCore;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    seed
}

fn read_json(path: &Path, what: &str) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::BadInput(format!("--{what} {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::BadInput(format!("--{what} {}: not JSON: {e}", path.display())))
}

fn parse_chain(s: &str) -> Result<ChainHash, String> {
    if let Some(h) = ChainHash::from_name(s) {
        return Ok(h);
    }
    s.parse()
        .map_err(|e| format!("--chain {s:?}: {e} (or a chain name)"))
}

fn parse_level(s: &str) -> Result<LdkLevel, String> {
    use LdkLevel as Level;
    Ok(match s {
        "gossip" => Level::Gossip,
        "trace" => Level::Trace,
        "debug" => Level::Debug,
        "info" => Level::Info,
        "warn" => Level::Warn,
        "error" => Level::Error,
        _ => {
            return Err(format!(
                "--ldk-log {s:?}: expected gossip, trace, debug, info, warn or error"
            ))
        }
    })
}

/// One line of the log, text or JSON. `types` decode a sent message for display (the adapter
/// hands us its bytes; it never decodes what it sends).
fn render(e: &FoafEvent, as_json: bool, types: MessageTypes) -> String {
    let sent = e.sent_message(types);
    if as_json {
        let v = match e {
            FoafEvent::PeerConnected {
                peer,
                inbound,
                supports_foaf,
            } => json!({"event": "connected", "peer": peer.to_string(), "inbound": inbound,
                        "feature_bit": supports_foaf}),
            FoafEvent::PeerDisconnected { peer } => {
                json!({"event": "disconnected", "peer": peer.to_string()})
            }
            FoafEvent::Received {
                peer,
                msg_type,
                decoded: Ok(m),
            } => json!({"event": "recv", "peer": peer.to_string(), "msg_type": msg_type,
                        "msg": to_json(m)}),
            FoafEvent::Received {
                peer,
                msg_type,
                decoded: Err(err),
            } => json!({"event": "recv_malformed", "peer": peer.to_string(),
                        "msg_type": msg_type, "error": err.code(), "detail": err.to_string()}),
            FoafEvent::Sent { peer, bytes } => match sent {
                Some(Ok(m)) => {
                    json!({"event": "send", "peer": peer.to_string(), "msg": to_json(&m)})
                }
                _ => json!({"event": "send", "peer": peer.to_string(), "hex": hex::encode(bytes)}),
            },
            FoafEvent::Disconnecting { peer, reason } => {
                json!({"event": "disconnecting", "peer": peer.to_string(), "reason": reason})
            }
            FoafEvent::Refused { op, peer, reason } => {
                json!({"event": "refused", "op": op, "peer": peer.to_string(), "reason": reason})
            }
            FoafEvent::Log(text) => json!({"event": "log", "text": text}),
        };
        return v.to_string();
    }
    match e {
        FoafEvent::PeerConnected {
            peer,
            inbound,
            supports_foaf,
        } => format!(
            "connected    {peer} ({}, {} option_balance_sharing)",
            if *inbound { "inbound" } else { "outbound" },
            if *supports_foaf {
                "advertises"
            } else {
                "does not advertise"
            }
        ),
        FoafEvent::PeerDisconnected { peer } => format!("disconnected {peer}"),
        FoafEvent::Received {
            peer,
            decoded: Ok(m),
            ..
        } => format!("recv         {peer} {}", describe(m)),
        FoafEvent::Received {
            peer,
            msg_type,
            decoded: Err(err),
        } => format!("recv         {peer} malformed type {msg_type}: {err}"),
        FoafEvent::Sent { peer, bytes } => match sent {
            Some(Ok(m)) => format!("send         {peer} {}", describe(&m)),
            _ => format!("send         {peer} {}", hex::encode(bytes)),
        },
        FoafEvent::Disconnecting { peer, reason } => format!("disconnect   {peer} {reason}"),
        FoafEvent::Refused { op, peer, reason } => format!("refused      {op} to {peer}: {reason}"),
        FoafEvent::Log(text) => format!("log          {text}"),
    }
}

fn chain_name(h: &ChainHash) -> String {
    h.name().map_or_else(|| h.to_string(), str::to_string)
}

fn describe(m: &Message) -> String {
    match m {
        Message::Query(q) => format!(
            "query_foaf_balances chain={} flow_value={} amt_to_rebalance={}",
            chain_name(&q.chain_hash),
            q.flow_value,
            q.amt_to_rebalance
        ),
        Message::Reply(r) => {
            let ids: Vec<String> = r.short_channel_ids.iter().map(|s| s.to_string()).collect();
            format!(
                "reply_foaf_balances chain={} flow_value={} timestamp={} amt_to_rebalance={} short_channel_ids=[{}]",
                chain_name(&r.chain_hash),
                r.flow_value,
                r.timestamp,
                r.amt_to_rebalance,
                ids.join(",")
            )
        }
        Message::Unknown(u) => format!("type {} ({} bytes)", u.msg_type, u.payload.len()),
    }
}

/// Runs `foaf node`.
pub fn run(args: Args) -> Result<(), CliError> {
    let args = *args.inner;
    let bad = CliError::BadInput;
    let types = match &args.types {
        Some(s) => crate::codec::parse_types(s).map_err(|e| bad(format!("--types: {e}")))?,
        None => foaf_wire::MessageTypes::default(),
    };
    let chain_hash = parse_chain(&args.chain).map_err(bad)?;
    let flow = Flow::from_byte(args.query_flow)
        .ok_or_else(|| CliError::BadInput("--query-flow must be 0 or 1".into()))?;
    let feature_bit = if args.no_feature_bit {
        None
    } else {
        foaf_ldk::check_feature_bit(args.feature_bit)
            .map_err(|e| bad(format!("--feature-bit: {e}")))?;
        Some(args.feature_bit)
    };
    let ldk_log = args
        .ldk_log
        .as_deref()
        .map(parse_level)
        .transpose()
        .map_err(bad)?;
    let targets = args
        .connect
        .iter()
        .map(|s| parse_target(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    if args.query_every == Some(0) {
        return Err(bad("--query-every must be at least 1 second".into()));
    }
    let seed = match (&args.seed, &args.key_file) {
        (Some(s), _) => parse_seed(s).map_err(|e| bad(format!("--seed: {e}")))?,
        (None, Some(path)) => load_or_create_seed(path)?,
        (None, None) => random_seed(),
    };
    let mut source = StaticChannels::default();
    if let Some(path) = &args.channels {
        source.channels = StaticChannels::channels_from_json(&read_json(path, "channels")?)
            .map_err(|e| bad(format!("--channels {}: {e}", path.display())))?;
    }
    if let Some(path) = &args.graph {
        source.graph = StaticChannels::graph_from_json(&read_json(path, "graph")?)
            .map_err(|e| bad(format!("--graph {}: {e}", path.display())))?;
    }

    let core_config = Config {
        chain_hash,
        message_types: types,
        // LDK sends the BOLT #1 warning itself when it fails the connection (see foaf-ldk).
        warn_before_disconnect: false,
        fault: args.fault,
        ..Config::default()
    };
    // The sampling seed (A07) comes from the node seed: a restarted node samples alike.
    let sample_seed = u64::from_le_bytes(seed[..8].try_into().expect("8 bytes"));
    let core: Node<PublicKey> = Node::new(core_config, sample_seed);
    let mut config = NodeConfig::new(seed);
    config.listen = Some(args.listen);
    config.adapter = AdapterConfig {
        types,
        feature_bit,
        require_peer_feature: !args.ignore_peer_features,
    };
    config.ldk_log = ldk_log;
    // `init`'s `networks` (docs/bolt14.md §2.1).
    config.chain_hash = chain_hash;
    config.limits = foaf_ldk::ConnectionLimits {
        per_ip: args.max_connections_per_ip,
        total: args.max_connections,
    };

    let as_json = args.json;
    // The event log. Its first failed write stops the node: a closed stdout (`foaf node | head`)
    // normally, a full disk with one error (crate::output).
    let out = Arc::new(LineOut::default());
    let sink = Arc::clone(&out);
    let events: EventSink =
        Arc::new(move |e: &FoafEvent| sink.print_line(&render(e, as_json, types)));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async move {
        let node = FoafNode::start(config, core, source, system_clock(), events)
            .await
            .map_err(CliError::Failed)?;
        let listen = node.local_addr().map(|a| a.to_string()).unwrap_or_default();
        if as_json {
            out.print_line(
                &json!({"event": "started", "node_id": node.node_id().to_string(),
                        "listen": listen, "chain_hash": chain_hash.to_string(),
                        "types": [types.query, types.reply], "feature_bit": feature_bit,
                        "fault": args.fault.map(|f| f.name())})
                .to_string(),
            );
        } else {
            out.print_line(&format!("node_id      {}", node.node_id()));
            out.print_line(&format!("listening    {listen}"));
            out.print_line(&format!(
                "config       chain={} types={},{} feature_bit={}{}",
                chain_name(&chain_hash),
                types.query,
                types.reply,
                feature_bit.map_or("none".to_string(), |b| b.to_string()),
                args.fault.map_or(String::new(), |f| format!(
                    " FAULT={f} (breaks {})",
                    f.requirement()
                ))
            ));
        }
        for t in &targets {
            if let Err(e) = node.connect(t.id, t.addr, Duration::from_secs(10)).await {
                out.print_line(&render(&FoafEvent::Log(e), as_json, types));
            }
        }
        let schedule = async {
            let Some(secs) = args.query_every else {
                return std::future::pending::<()>().await;
            };
            let mut every = tokio::time::interval(Duration::from_secs(secs));
            loop {
                every.tick().await;
                for t in &targets {
                    if !node.is_connected(&t.id) {
                        if let Err(e) = node.connect(t.id, t.addr, Duration::from_secs(5)).await {
                            out.print_line(&render(&FoafEvent::Log(e), as_json, types));
                            continue;
                        }
                    }
                    // A refusal is already logged by the adapter.
                    let _ = node.query(&t.id, flow, args.query_amt);
                }
            }
        };
        let stop = async {
            match args.run_for {
                Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
                None => std::future::pending::<()>().await,
            }
        };
        let why = tokio::select! {
            r = tokio::signal::ctrl_c() => match r {
                Ok(()) => "interrupted",
                Err(_) => "signal handling failed",
            },
            _ = stop => "run_for elapsed",
            _ = schedule => "schedule ended",
            _ = out.failed() => "stdout closed",
        };
        node.shutdown();
        if as_json {
            out.print_line(&json!({"event": "stopped", "why": why}).to_string());
        } else {
            out.print_line(&format!("stopped      {why}"));
        }
        out.result()
    })
}
