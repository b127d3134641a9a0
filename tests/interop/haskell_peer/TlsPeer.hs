{-# LANGUAGE OverloadedStrings #-}
-- The Haskell `tls` library (tls-1.5.8, Debian libghc-tls-dev) as a peer for tlsmachine's
-- interop tests (tests/interop/haskell_peer.py builds it with ghc once per test session).
--
--   TlsPeer server [options]   listen on 127.0.0.1:0, serve --connections connections one
--                              after the other, echoing each until the client's close_notify
--   TlsPeer client [options]   make --connections connections to each of --port P[,P...]; each
--                              sends --message (or --size bytes of i mod 251) from a writer
--                              thread while it reads the echo, then closes (close_notify) and
--                              waits for the server's; a later connection resumes the session
--                              the previous ones got (TLS 1.3 ticket or TLS 1.2 session ID)
--
-- One JSON object per line on stdout: {"event": "listening", "port": N} (a server), then one
-- {"event": "connection", ...} per connection: version, cipher (IANA name), group, mode
-- (infoTLS13HandshakeMode), resumed, hello_retry, alpn, sni, early_data_accepted, ems,
-- peer_cert_sha256, received (hex, up to 64 KiB), received_length, received_sha256,
-- clean_close, key_updates; or the failure: error, alert, alert_received, stage.
-- {"event": "done"} ends a run (exit status 0).
--
-- Options (each takes a value): --cert PEM --key PEM (a chain and its key), --ca PEM (trust
-- anchors: the server's for a client, client certificates' for a server), --versions 1.3,1.2,
-- --suites A,B (IANA names), --groups A,B (x25519, secp256r1, ..., ffdhe2048, ...), --alpn A,B,
-- --connections N, --timeout MS (each connection; default 10000), --key-update oneway|twoway.
-- Server: --client-auth none|optional|required, --early-data N (max_early_data_size),
--   --key-update-every N (after echoing each N bytes, updateKey --key-update).
-- Client: --port P[,P...], --message TEXT, --size N, --sni NAME|none, --early TEXT (0-RTT data
--   when resuming), --key-update (after the echo, updateKey and echo --message again),
--   --resume yes|no (default yes).
module Main (main) where

import Control.Concurrent (forkIO)
import Control.Concurrent.MVar
import qualified Control.Exception as E
import Control.Monad
import qualified Crypto.Hash as H
import qualified Data.ByteString as B
import qualified Data.ByteString.Char8 as C
import qualified Data.ByteString.Lazy as L
import Data.Char (isUpper, ord, toLower)
import Data.Default.Class (def)
import Data.IORef
import Data.List (find, intercalate)
import qualified Data.Map.Strict as M
import Data.Maybe (fromMaybe, isJust)
import Data.X509 (CertificateChain (..), encodeSignedObject)
import qualified Data.X509 as X
import Data.X509.CertificateStore (CertificateStore, readCertificateStore)
import Data.X509.Validation
import Network.Socket
import Network.TLS
import Network.TLS.Extra.Cipher
import Network.TLS.Extra.FFDHE (ffdhe2048)
import Network.TLS.Internal (Handshake (..), ServerRandom (..))
import Numeric (showHex)
import System.Environment (getArgs)
import System.Exit
import System.IO
import System.Timeout (timeout)

type Opts = M.Map String String

data Json = S String | I Int | Bo Bool | Null

type Record = [(String, Json)]

main :: IO ()
main = do
  hSetBuffering stdout LineBuffering
  args <- getArgs
  case args of
    (role : rest) | role `elem` ["server", "client"] -> do
      let opts = parse rest M.empty
      if role == "server" then server opts else client opts
      emit [("event", S "done")]
    _ -> hPutStrLn stderr "usage: TlsPeer server|client [--option value]..." >> exitWith (ExitFailure 2)
  where
    parse (('-' : '-' : k) : v : more) acc = parse more (M.insert k v acc)
    parse [] acc = acc
    parse other _ = error ("bad arguments: " ++ show other)

-- -- JSON ------------------------------------------------------------------------------------

emit :: Record -> IO ()
emit fields = putStrLn ("{" ++ intercalate ", " [str k ++ ": " ++ val v | (k, v) <- fields] ++ "}")
  where
    val (S s) = str s
    val (I n) = show n
    val (Bo b) = if b then "true" else "false"
    val Null = "null"
    str s = "\"" ++ concatMap esc s ++ "\""
    esc '"' = "\\\""
    esc '\\' = "\\\\"
    esc c | ord c < 32 || ord c > 126 = "\\u" ++ pad4 (showHex (ord c) "") | otherwise = [c]
    pad4 h = replicate (4 - length h) '0' ++ take 4 h

hex :: B.ByteString -> String
hex = concatMap (\w -> let h = showHex w "" in if length h == 1 then '0' : h else h) . B.unpack

sha256 :: B.ByteString -> String
sha256 = show . H.hashWith H.SHA256

snake :: String -> String
snake = dropWhile (== '_') . concatMap (\c -> if isUpper c then ['_', toLower c] else [c])

-- -- options ---------------------------------------------------------------------------------

opt :: Opts -> String -> String -> String
opt o k d = M.findWithDefault d k o

int :: Opts -> String -> Int -> Int
int o k d = maybe d read (M.lookup k o)

split :: String -> [String]
split s = case break (== ',') s of
  (a, ',' : rest) -> a : split rest
  (a, _) -> [a | not (null a)]

suites :: [(String, Cipher)]
suites =
  [ ("TLS_AES_128_GCM_SHA256", cipher_TLS13_AES128GCM_SHA256),
    ("TLS_AES_256_GCM_SHA384", cipher_TLS13_AES256GCM_SHA384),
    ("TLS_CHACHA20_POLY1305_SHA256", cipher_TLS13_CHACHA20POLY1305_SHA256),
    ("TLS_AES_128_CCM_SHA256", cipher_TLS13_AES128CCM_SHA256),
    ("TLS_AES_128_CCM_8_SHA256", cipher_TLS13_AES128CCM8_SHA256),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", cipher_ECDHE_ECDSA_AES128GCM_SHA256),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", cipher_ECDHE_ECDSA_AES256GCM_SHA384),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", cipher_ECDHE_ECDSA_CHACHA20POLY1305_SHA256),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", cipher_ECDHE_RSA_AES128GCM_SHA256),
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", cipher_ECDHE_RSA_AES256GCM_SHA384),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", cipher_ECDHE_RSA_CHACHA20POLY1305_SHA256),
    ("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", cipher_DHE_RSA_AES128GCM_SHA256),
    ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", cipher_DHE_RSA_AES256GCM_SHA384),
    ("TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", cipher_DHE_RSA_CHACHA20POLY1305_SHA256),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", cipher_ECDHE_ECDSA_AES128CBC_SHA),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", cipher_ECDHE_RSA_AES128CBC_SHA)
  ]

groups :: [(String, Group)]
groups =
  [ ("x25519", X25519), ("x448", X448), ("secp256r1", P256), ("secp384r1", P384),
    ("secp521r1", P521), ("ffdhe2048", FFDHE2048), ("ffdhe3072", FFDHE3072),
    ("ffdhe4096", FFDHE4096), ("ffdhe6144", FFDHE6144), ("ffdhe8192", FFDHE8192)
  ]

named :: String -> [(String, a)] -> String -> a
named what table n = fromMaybe (error ("unknown " ++ what ++ ": " ++ n)) (lookup n table)

supported :: Opts -> Supported
supported o =
  def
    { supportedVersions = [v | v <- [TLS13, TLS12], versionName v `elem` map ("TLSv" ++) vs],
      supportedCiphers = maybe (map snd suites) (map (\n -> named "suite" suites n) . split) (M.lookup "suites" o),
      supportedGroups = maybe (map snd groups) (map (\n -> named "group" groups n) . split) (M.lookup "groups" o)
    }
  where
    vs = split (opt o "versions" "1.3,1.2")

versionName :: Version -> String
versionName TLS13 = "TLSv1.3"
versionName TLS12 = "TLSv1.2"
versionName v = show v

credential :: Opts -> IO (Maybe Credential)
credential o = case (M.lookup "cert" o, M.lookup "key" o) of
  (Just c, Just k) -> either (error . ("credential: " ++)) Just <$> credentialLoadX509 c k
  _ -> return Nothing

store :: Opts -> IO CertificateStore
store o = case M.lookup "ca" o of
  Just f -> fromMaybe (error ("no certificates in " ++ f)) <$> readCertificateStore f
  Nothing -> return mempty

leafSha :: CertificateChain -> Json
leafSha (CertificateChain (c : _)) = S (sha256 (encodeSignedObject c))
leafSha _ = Null

hrrRandom :: B.ByteString
hrrRandom = B.pack [0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C]

-- -- what a connection negotiated, and how it ended ------------------------------------------

data Conn = Conn
  { cCtx :: Context,
    cHellos :: IORef Int,
    cHrr :: IORef Bool,
    cStage :: IORef String,
    cRecord :: IORef Record,
    cReceived :: IORef B.ByteString
  }

newConn :: Context -> IO Conn
newConn ctx = do
  conn <- Conn ctx <$> newIORef 0 <*> newIORef False <*> newIORef "handshake" <*> newIORef [] <*> newIORef B.empty
  contextHookSetHandshakeRecv ctx $ \h -> do
    case h of
      ClientHello {} -> modifyIORef (cHellos conn) (+ 1)
      ServerHello _ (ServerRandom r) _ _ _ _ | r == hrrRandom -> writeIORef (cHrr conn) True
      _ -> return ()
    return h
  return conn

describe :: Conn -> IO Record
describe conn = do
  let ctx = cCtx conn
  Just info <- contextGetInformation ctx
  alpn <- getNegotiatedProtocol ctx
  sni <- getClientSNI ctx
  hellos <- readIORef (cHellos conn)
  hrr <- readIORef (cHrr conn)
  let mode = infoTLS13HandshakeMode info
  return
    [ ("version", S (versionName (infoVersion info))),
      ("cipher", S (maybe (cipherName (infoCipher info)) fst (find ((== cipherID (infoCipher info)) . cipherID . snd) suites))),
      ("group", maybe Null (\g -> S (maybe (show g) fst (find ((== g) . snd) groups))) (infoNegotiatedGroup info)),
      ("mode", maybe Null (S . show) mode),
      ("hello_retry", Bo (hrr || hellos > 1)),
      ("alpn", maybe Null (S . C.unpack) alpn),
      ("sni", maybe Null S sni),
      ("early_data_accepted", Bo (infoIsEarlyDataAccepted info)),
      ("ems", Bo (infoExtendedMasterSec info))
    ]

received :: B.ByteString -> Record
received got =
  [("received", S (hex (B.take 65536 got))) | B.length got <= 65536]
    ++ [("received_length", I (B.length got)), ("received_sha256", S (sha256 got))]

failure :: Conn -> E.SomeException -> IO Record
failure conn e = do
  stage <- readIORef (cStage conn)
  let (alert, remote) = case E.fromException e of
        Just (HandshakeFailed err) -> alertOf err
        Just (Terminated _ _ err) -> alertOf err
        _ -> case E.fromException e of
          Just err -> alertOf err
          Nothing -> (Nothing, False)
  return ([("error", S (show e)), ("stage", S stage), ("alert_received", Bo remote)] ++ [("alert", S (snake a)) | Just a <- [alert]])
  where
    -- an alert received during the handshake shows only in the text of the error
    alertOf err | Just name <- alertIn (show err) = (Just name, True)
    alertOf (Error_Protocol (msg, _, desc)) = (Just (show desc), msg == "remote side fatal error")
    alertOf (Error_Packet_unexpected _ _) = (Just "UnexpectedMessage", False)
    alertOf (Error_Packet_Parsing _) = (Just "DecodeError", False)
    alertOf Error_EOF = (Nothing, False)
    alertOf _ = (Just "InternalError", False)
    alertIn text = case breakOn "AlertLevel_Fatal," text of
      "" -> Nothing
      rest -> Just (takeWhile (`notElem` (")]\\\" " :: String)) rest)
    breakOn pat text@(_ : more)
      | take (length pat) text == pat = drop (length pat) text
      | otherwise = breakOn pat more
    breakOn _ [] = ""

-- Run one connection on ``sock``: the handshake, then ``body``, bounded by --timeout; its
-- record, with what was known when it failed (``cRecord``) and the error.
connection :: TLSParams p => Opts -> Socket -> p -> (Conn -> IO ()) -> IO Record
connection o sock params body = do
  ctx <- contextNew sock params
  conn <- newConn ctx
  result <- timeout (int o "timeout" 10000 * 1000) (E.try (handshake ctx >> body conn))
  _ <- E.try (close sock) :: IO (Either E.SomeException ())
  known <- readIORef (cRecord conn)
  got <- readIORef (cReceived conn)
  let data_ = if B.null got then [] else received got
  case result of
    Just (Right ()) -> return (known ++ received got)
    Just (Left e) -> (\f -> known ++ data_ ++ f) <$> failure conn e
    Nothing -> (\st -> known ++ data_ ++ [("error", S "timeout"), ("stage", S st)]) <$> readIORef (cStage conn)

-- The echo of what was sent, once ``expected`` bytes came (or EOF).
readUntil :: Conn -> Int -> IO ()
readUntil conn expected = do
  got <- readIORef (cReceived conn)
  when (B.length got < expected) $ do
    chunk <- recvData (cCtx conn)
    if B.null chunk
      then writeIORef (cStage conn) "read (closed early)" >> E.throwIO (userError "connection closed before the echo")
      else modifyIORef' (cReceived conn) (<> chunk) >> readUntil conn expected

note :: Conn -> Record -> IO ()
note conn fields = modifyIORef (cRecord conn) (++ fields)

keyUpdate :: Opts -> KeyUpdateRequest
keyUpdate o = if opt o "key-update" "twoway" == "oneway" then OneWay else TwoWay

-- -- server -----------------------------------------------------------------------------------

server :: Opts -> IO ()
server o = do
  cred <- credential o
  cas <- store o
  sessions <- newIORef M.empty
  listener <- socket AF_INET Stream defaultProtocol
  setSocketOption listener ReuseAddr 1
  bind listener (SockAddrInet 0 (tupleToHostAddress (127, 0, 0, 1)))
  listen listener 16
  port <- socketPort listener
  emit [("event", S "listening"), ("port", I (fromIntegral port))]
  forM_ [0 .. int o "connections" 1 - 1] $ \i -> do
    resumed <- newIORef False
    let lookup' k = do
          found <- M.lookup k <$> readIORef sessions
          when (isJust found) (writeIORef resumed True)
          return found
        manager =
          SessionManager
            { sessionResume = lookup',
              sessionResumeOnlyOnce = \k -> lookup' k <* modifyIORef sessions (M.delete k),
              sessionEstablish = \k v -> modifyIORef sessions (M.insert k v),
              sessionInvalidate = \k -> modifyIORef sessions (M.delete k)
            }
        base = [("event", S "connection"), ("index", I i), ("role", S "server")]
    accepted <- timeout (int o "timeout" 10000 * 1000) (accept listener)
    case accepted of
      Nothing -> emit (base ++ [("error", S "no connection"), ("stage", S "accept")]) >> exitWith (ExitFailure 1)
      Just (sock, _) -> do
        record <- connection o sock (serverParams o cred cas manager) (serveOne o resumed)
        emit (base ++ record)
  close listener

serverParams :: Opts -> Maybe Credential -> CertificateStore -> SessionManager -> ServerParams
serverParams o cred cas manager =
  def
    { serverWantClientCert = auth /= "none",
      serverCACertificates = [],
      serverDHEParams = Just ffdhe2048,
      serverShared = def {sharedCredentials = Credentials (maybe [] pure cred), sharedSessionManager = manager, sharedCAStore = cas},
      serverSupported = supported o,
      serverEarlyDataSize = int o "early-data" 0,
      serverHooks =
        def
          { onClientCertificate = checkClient,
            onUnverifiedClientCert = return (auth /= "required"),
            onALPNClientSuggest = alpn <$> M.lookup "alpn" o
          }
    }
  where
    auth = opt o "client-auth" "none"
    checkClient (CertificateChain []) =
      return (if auth == "required" then CertificateUsageReject CertificateRejectAbsent else CertificateUsageAccept)
    checkClient chain = do
      reasons <- validate X.HashSHA256 defaultHooks defaultChecks {checkFQHN = False} cas def ("", B.empty) chain
      return (if null reasons then CertificateUsageAccept else CertificateUsageReject (reject reasons))
    reject reasons
      | UnknownCA `elem` reasons || SelfSigned `elem` reasons = CertificateRejectUnknownCA
      | otherwise = CertificateRejectOther (show reasons)
    alpn ours theirs = case [p | p <- map C.pack (split ours), p `elem` theirs] of
      (p : _) -> return p
      [] -> E.throwIO (Error_Protocol ("no common application protocol", True, NoApplicationProtocol))

serveOne :: Opts -> IORef Bool -> Conn -> IO ()
serveOne o resumedRef conn = do
  let ctx = cCtx conn
  info <- describe conn
  Just i <- contextGetInformation ctx
  found <- readIORef resumedRef
  let resumed = case infoVersion i of
        TLS13 -> infoTLS13HandshakeMode i `elem` [Just PreSharedKey, Just RTT0]
        _ -> found
  chain <- getClientCertificateChain ctx
  note conn (info ++ [("resumed", Bo resumed), ("peer_cert_sha256", maybe Null leafSha chain)])
  writeIORef (cStage conn) "read"
  updates <- newIORef (0 :: Int)
  let every = int o "key-update-every" 0
      loop = do
        chunk <- recvData ctx
        if B.null chunk
          then return ()
          else do
            writeIORef (cStage conn) "write"
            sendData ctx (L.fromStrict chunk)
            total <- B.length <$> (modifyIORef' (cReceived conn) (<> chunk) >> readIORef (cReceived conn))
            done <- readIORef updates
            when (every > 0 && total `div` every > done) $ do
              writeIORef (cStage conn) "key_update"
              _ <- updateKey ctx (keyUpdate o)
              writeIORef updates (done + 1)
            writeIORef (cStage conn) "read"
            loop
  loop
  n <- readIORef updates
  note conn [("clean_close", Bo True), ("key_updates", I n)]
  writeIORef (cStage conn) "bye"
  bye ctx

-- -- client -----------------------------------------------------------------------------------

payload :: Int -> B.ByteString
payload n = B.pack [fromIntegral (i `mod` 251) | i <- [0 .. n - 1]]

client :: Opts -> IO ()
client o = do
  cred <- credential o
  cas <- store o
  session <- newIORef Nothing
  let ports = map read (split (opt o "port" "")) :: [Int]
      count = int o "connections" 1
      message = maybe (C.pack (opt o "message" "hello")) (payload . read) (M.lookup "size" o)
  forM_ (zip [0 :: Int ..] ports) $ \(p, port) -> forM_ [0 .. count - 1] $ \i -> do
    let base = [("event", S "connection"), ("index", I (p * count + i)), ("role", S "client"), ("port", I port)]
    addr : _ <- getAddrInfo (Just defaultHints {addrSocketType = Stream}) (Just "127.0.0.1") (Just (show port))
    sock <- socket (addrFamily addr) Stream defaultProtocol
    connected <- timeout (int o "timeout" 10000 * 1000) (E.try (connect sock (addrAddress addr)))
    case connected of
      Just (Right ()) -> do
        seen <- newIORef Nothing
        stored <- if opt o "resume" "yes" == "yes" then readIORef session else return Nothing
        let params = clientParams o cred cas session seen stored
        record <- connection o sock params (exchange o message seen)
        emit (base ++ record)
      Just (Left e) -> emit (base ++ [("error", S (show (e :: E.SomeException))), ("stage", S "connect")])
      Nothing -> emit (base ++ [("error", S "timeout"), ("stage", S "connect")])

clientParams :: Opts -> Maybe Credential -> CertificateStore -> IORef (Maybe (SessionID, SessionData)) -> IORef (Maybe CertificateChain) -> Maybe (SessionID, SessionData) -> ClientParams
clientParams o cred cas session seen stored =
  (defaultParamsClient (if sni == "none" then "localhost" else sni) B.empty)
    { clientUseServerNameIndication = sni /= "none",
      clientShared = def {sharedCAStore = cas, sharedSessionManager = manager},
      clientSupported = supported o,
      clientWantSessionResume = stored,
      clientEarlyData = if isJust stored then C.pack <$> M.lookup "early" o else Nothing,
      clientHooks =
        def
          { onCertificateRequest = \_ -> return cred,
            onServerCertificate = \s c sid chain -> writeIORef seen (Just chain) >> validateDefault s c sid chain,
            onSuggestALPN = return (map C.pack . split <$> M.lookup "alpn" o)
          }
    }
  where
    sni = opt o "sni" "localhost"
    manager =
      noSessionManager
        { sessionEstablish = \k v -> writeIORef session (Just (k, v)),
          sessionInvalidate = \_ -> writeIORef session Nothing
        }

exchange :: Opts -> B.ByteString -> IORef (Maybe CertificateChain) -> Conn -> IO ()
exchange o message seen conn = do
  let ctx = cCtx conn
  info <- describe conn
  Just i <- contextGetInformation ctx
  chain <- readIORef seen
  note conn (info ++ [("resumed", Bo (not (isJust chain))), ("peer_cert_sha256", maybe Null leafSha chain)])
  let early = if infoIsEarlyDataAccepted i then maybe 0 length (M.lookup "early" o) else 0
  send message (early + B.length message)
  updates <- if M.member "key-update" o
    then do
      writeIORef (cStage conn) "key_update"
      _ <- updateKey ctx (keyUpdate o)
      let again = C.pack (opt o "message" "hello")
      got <- B.length <$> readIORef (cReceived conn)
      send again (got + B.length again)
      return 1
    else return (0 :: Int)
  writeIORef (cStage conn) "bye"
  bye ctx
  writeIORef (cStage conn) "read close_notify"
  rest <- recvData ctx
  note conn [("clean_close", Bo (B.null rest)), ("key_updates", I updates)]
  where
    send bytes expected = do
      writeIORef (cStage conn) "write"
      sent <- newEmptyMVar
      _ <- forkIO (E.try (sendData (cCtx conn) (L.fromStrict bytes)) >>= putMVar sent)
      writeIORef (cStage conn) "read"
      readUntil conn expected
      result <- takeMVar sent
      either (\e -> E.throwIO (e :: E.SomeException)) return result
