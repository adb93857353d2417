//! The DNS queries DANE needs, sent to the configured (trusted, validating) name servers
//! with the DO bit and the AD bit set (RFC 4035 §3.2.1, RFC 6840 §5.7: either asks a
//! validating resolver to report in the AD bit whether the answer was validated), so that
//! the reply's header says whether the data is DNSSEC-secure.
//!
//! hickory's resolver cannot do this: without its `dnssec-*` features it sets neither bit
//! and validates nothing, and with them it validates in process (root trust anchor and its
//! rollover inside Tern). So the message is built and read by `hickory-proto` (the wire
//! format is the crate's) and carried here over UDP, then TCP when the reply is truncated.
//!
//! ## Invariants
//! - A reply is only taken from a socket connected to the server asked, with the query's id
//!   and question; anything else is ignored until the deadline.
//! - Each server gets one UDP try (and TCP if truncated) in the configured order; a server
//!   that does not answer in time passes to the next.

use hickory_resolver::proto::op::{Edns, Message, Query};
use hickory_resolver::proto::rr::{Name, RecordType};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// The UDP payload size offered in EDNS (the DNS flag day 2020 value).
const PAYLOAD: u16 = 1232;

/// A stub resolver that reads the AD bit.
#[derive(Clone, Debug)]
pub struct Stub {
    servers: Vec<SocketAddr>,
    timeout: Duration,
}

impl Stub {
    /// `servers`: the validating resolvers, asked in this order; `timeout`: per server.
    pub fn new(servers: Vec<SocketAddr>, timeout: Duration) -> Stub {
        Stub { servers, timeout }
    }

    /// Asks for `name`/`rtype`; the first reply any server gives, whatever its rcode.
    pub async fn query(&self, name: &Name, rtype: RecordType) -> Result<Message, String> {
        let mut last = "no name server configured".to_string();
        for server in &self.servers {
            let request = request(name, rtype);
            match tokio::time::timeout(self.timeout, ask(*server, &request)).await {
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(e)) => last = format!("{server}: {e}"),
                Err(_) => last = format!("{server}: timed out"),
            }
        }
        Err(last)
    }
}

/// The query: RD, AD, and EDNS with DO.
pub fn request(name: &Name, rtype: RecordType) -> Message {
    let mut m = Message::query();
    m.queries.push(Query::query(name.clone(), rtype));
    m.metadata.recursion_desired = true;
    m.metadata.authentic_data = true;
    let mut edns = Edns::new();
    edns.set_max_payload(PAYLOAD).set_dnssec_ok(true);
    m.edns = Some(edns);
    m
}

/// Whether `reply` answers `request` (same id, a response, the same question).
pub fn answers(request: &Message, reply: &Message) -> bool {
    use hickory_resolver::proto::op::MessageType;
    reply.metadata.id == request.metadata.id
        && reply.metadata.message_type == MessageType::Response
        && reply.queries.len() == 1
        && request.queries.len() == 1
        && reply.queries[0].name() == request.queries[0].name()
        && reply.queries[0].query_type() == request.queries[0].query_type()
}

async fn ask(server: SocketAddr, request: &Message) -> Result<Message, String> {
    let bytes = request.to_vec().map_err(|e| e.to_string())?;
    let reply = udp(server, request, &bytes).await?;
    if !reply.metadata.truncation {
        return Ok(reply);
    }
    tcp(server, request, &bytes).await
}

async fn udp(server: SocketAddr, request: &Message, bytes: &[u8]) -> Result<Message, String> {
    let local: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await.map_err(|e| e.to_string())?;
    socket.connect(server).await.map_err(|e| e.to_string())?;
    socket.send(bytes).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 65_535];
    loop {
        let n = socket.recv(&mut buf).await.map_err(|e| e.to_string())?;
        // A datagram that does not decode or answer something else is not the reply.
        if let Ok(reply) = Message::from_vec(&buf[..n])
            && answers(request, &reply)
        {
            return Ok(reply);
        }
    }
}

async fn tcp(server: SocketAddr, request: &Message, bytes: &[u8]) -> Result<Message, String> {
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    let len = u16::try_from(bytes.len()).map_err(|_| "query too long".to_string())?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).await.map_err(|e| e.to_string())?;
    loop {
        let mut len = [0u8; 2];
        stream
            .read_exact(&mut len)
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        stream
            .read_exact(&mut buf)
            .await
            .map_err(|e| e.to_string())?;
        let reply = Message::from_vec(&buf).map_err(|e| e.to_string())?;
        if answers(request, &reply) {
            return Ok(reply);
        }
    }
}
