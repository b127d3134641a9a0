#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noinput
%%
%% Erlang/OTP's ssl application as a peer for tlsmachine's interop tests
%% (tests/interop/erlang_peer.py runs it with `escript`; OTP 25, Debian erlang-ssl).
%%
%%   tls_peer.escript server [options]   listen on 127.0.0.1:0 and serve --connections
%%                                       connections one after the other, echoing each until
%%                                       the client closes, then close it and go on
%%   tls_peer.escript client [options]   make --connections connections to each of --port
%%                                       P[,P...] (in order) in one VM, so that OTP may resume
%%                                       the session of the previous one; each sends --message
%%                                       (or --size bytes of i mod 251) from a writer process
%%                                       while it reads the echo, then closes (close_notify)
%%
%% It prints one JSON object per line on stdout:
%%
%%   {"event": "listening", "port": N}   a server listens
%%   {"event": "connection", ...}        per connection: what OTP negotiated (protocol,
%%                                       cipher_suite, resumed, alpn, sni, peer certificate),
%%                                       what it received (received, in hex up to 64 KiB,
%%                                       received_length, received_sha256), key_updates it
%%                                       asked for, or the error: "error" (OTP's reason as
%%                                       text), "alert" (the alert's name) and "stage"
%%   {"event": "done"}                   at the end (exit status 0)
%%
%% Options (each takes a value):
%%   --cert PEM --key PEM   our certificate (chain) and key
%%   --ca PEM               trust anchors: a client verifies the server (and its name), a server
%%                          verifies client certificates
%%   --versions 1.3,1.2     versions (default both)
%%   --suites A,B           cipher suites, IANA names, in preference order
%%   --groups A,B           groups (TLS 1.3 supported_groups, and the TLS 1.2 curves)
%%   --sigalgs A,B          signature schemes (OTP atoms: ecdsa_secp256r1_sha256, ed25519, ...)
%%   --alpn A,B             ALPN protocols (a server's in preference order)
%%   --connections N        a server's connections; a client's connections to each port
%%   --timeout MS           every handshake, receive and send (default 10000)
%%   --tickets off|stateless|stateful|auto
%%                          TLS 1.3 session tickets (server: stateless/stateful, client: auto)
%%   --reuse-sessions true|false
%%                          TLS 1.2 session-ID resumption (OTP's default: true)
%% Server:
%%   --client-auth none|optional|required
%%   --honor-cipher-order true|false  (default true: the server's order decides)
%%   --key-update-every N   after echoing each N bytes, update our keys and ask the client to
%%                          update its own (ssl:update_keys(S, read_write), RFC 8446 §4.6.3)
%% Client:
%%   --port P[,P...]
%%   --message TEXT         what to send (default hello)
%%   --size N               send N bytes of (i mod 251) instead
%%   --sni NAME|none        server_name_indication and the name to verify (default localhost;
%%                          none: no SNI, the certificate is checked against 127.0.0.1)
%%   --key-update write|read_write
%%                          after the echo, update our keys (read_write: ask the server to
%%                          update too) and echo --message once more

main([Role | Args]) when Role =:= "server"; Role =:= "client" ->
    Opts = parse(Args, #{}),
    %% OTP's log (alerts sent and received, at notice level) goes to stderr, one line each,
    %% so that stdout holds the JSON records only
    ok = logger:remove_handler(default),
    ok = logger:add_handler(default, logger_std_h,
                            #{config => #{type => standard_error},
                              formatter => {logger_formatter, #{single_line => true}}}),
    {ok, _} = application:ensure_all_started(ssl),
    case Role of
        "server" -> server(Opts);
        "client" -> client(Opts)
    end,
    emit(#{event => done}),
    halt(0);
main(_) ->
    io:format(standard_error, "usage: tls_peer.escript server|client [--option value]...~n", []),
    halt(2).

parse([[$-, $- | Name], Value | Rest], Acc) ->
    parse(Rest, Acc#{Name => Value});
parse([], Acc) ->
    Acc;
parse(Other, _) ->
    io:format(standard_error, "bad arguments: ~p~n", [Other]),
    halt(2).

opt(Opts, Name, Default) -> maps:get(Name, Opts, Default).
int(Opts, Name, Default) -> list_to_integer(opt(Opts, Name, integer_to_list(Default))).
split(Text) -> string:lexemes(Text, ",").
timeout(Opts) -> int(Opts, "timeout", 10000).

%% -- options shared by both roles ------------------------------------------------------------

version_atom("1.3") -> 'tlsv1.3';
version_atom("1.2") -> 'tlsv1.2'.

versions(Opts) -> [version_atom(V) || V <- split(opt(Opts, "versions", "1.3,1.2"))].

%% session_tickets is a TLS 1.3 option: OTP refuses it without TLS 1.3 among the versions.
tickets(Opts, Default) ->
    case {opt(Opts, "tickets", Default), lists:member('tlsv1.3', versions(Opts))} of
        {"off", _} -> [];
        {_, false} -> [];
        {Mode, true} -> [{session_tickets, list_to_atom(Mode)}]
    end.

common_options(Opts) ->
    Versions = versions(Opts),
    Base = [{versions, Versions}, {mode, binary}, {active, false}, {packet, raw}, {nodelay, true},
            {log_level, notice}],
    Base
        ++ file_option(Opts, "cert", certfile)
        ++ file_option(Opts, "key", keyfile)
        ++ file_option(Opts, "ca", cacertfile)
        ++ case maps:find("suites", Opts) of
               {ok, Suites} -> [{ciphers, [ssl:str_to_suite(S) || S <- split(Suites)]}];
               error -> []
           end
        ++ case maps:find("groups", Opts) of
               {ok, Groups} ->
                   Atoms = [list_to_atom(G) || G <- split(Groups)],
                   Tls13 = lists:member('tlsv1.3', Versions),
                   Tls12 = lists:member('tlsv1.2', Versions),
                   [{supported_groups, Atoms} || Tls13]
                       ++ [{eccs, [A || A <- Atoms, not is_ffdhe(A)]} || Tls12]
               ;
               error -> []
           end
        ++ case maps:find("sigalgs", Opts) of
               {ok, Algs} -> [{signature_algs, [list_to_atom(A) || A <- split(Algs)]}];
               error -> []
           end
        ++ case maps:find("reuse-sessions", Opts) of
               {ok, Reuse} -> [{reuse_sessions, list_to_atom(Reuse)}];
               error -> []
           end.

is_ffdhe(Group) -> lists:prefix("ffdhe", atom_to_list(Group)).

file_option(Opts, Name, Key) ->
    case maps:find(Name, Opts) of
        {ok, Path} -> [{Key, Path}];
        error -> []
    end.

%% -- server ------------------------------------------------------------------------------------

server(Opts) ->
    Timeout = timeout(Opts),
    Auth = case opt(Opts, "client-auth", "none") of
               "none" -> [{verify, verify_none}];
               "optional" -> [{verify, verify_peer}, {fail_if_no_peer_cert, false}];
               "required" -> [{verify, verify_peer}, {fail_if_no_peer_cert, true}]
           end,
    Tickets = tickets(Opts, "stateless"),
    Alpn = case maps:find("alpn", Opts) of
               {ok, Protocols} -> [{alpn_preferred_protocols, binaries(Protocols)}];
               error -> []
           end,
    Honor = [{honor_cipher_order, list_to_atom(opt(Opts, "honor-cipher-order", "true"))}],
    Listen = [{ip, {127, 0, 0, 1}}, {reuseaddr, true}],
    SslOpts = common_options(Opts) ++ Auth ++ Tickets ++ Alpn ++ Honor ++ Listen,
    case ssl:listen(0, SslOpts) of
        {ok, Listener} ->
            {ok, {_, Port}} = ssl:sockname(Listener),
            io:format("{\"event\": \"listening\", \"port\": ~b}~n", [Port]),
            Count = int(Opts, "connections", 1),
            lists:foreach(fun(I) -> emit(serve_one(Listener, I, Opts, Timeout)) end,
                          lists:seq(0, Count - 1)),
            ssl:close(Listener);
        {error, Reason} ->
            emit(#{event => error, stage => listen, error => text(Reason)}),
            halt(1)
    end.

serve_one(Listener, Index, Opts, Timeout) ->
    Record = #{event => connection, index => Index, role => server},
    case ssl:transport_accept(Listener, Timeout) of
        {ok, Transport} ->
            case ssl:handshake(Transport, Timeout) of
                {ok, Socket} ->
                    R1 = describe(Record, Socket),
                    Every = int(Opts, "key-update-every", 0),
                    R2 = echo_loop(Socket, Timeout, Every, <<>>, 0, R1),
                    ssl:close(Socket),
                    R2;
                {error, Reason} ->
                    failed(Record, handshake, Reason)
            end;
        {error, Reason} ->
            failed(Record, accept, Reason)
    end.

echo_loop(Socket, Timeout, Every, Received, Updates, Record) ->
    case recv(Socket, Timeout) of
        {ok, Data} ->
            case ssl:send(Socket, Data) of
                ok ->
                    All = <<Received/binary, Data/binary>>,
                    Due = Every > 0 andalso byte_size(All) div Every > Updates,
                    case Due of
                        true ->
                            case ssl:update_keys(Socket, read_write) of
                                ok ->
                                    echo_loop(Socket, Timeout, Every, All, Updates + 1, Record);
                                {error, Reason} ->
                                    failed(received(Record#{key_updates => Updates}, All),
                                           key_update, Reason)
                            end;
                        false ->
                            echo_loop(Socket, Timeout, Every, All, Updates, Record)
                    end;
                {error, Reason} ->
                    failed(received(Record, Received), write, Reason)
            end;
        {error, closed} ->
            received(Record#{key_updates => Updates}, Received);
        {error, Reason} ->
            failed(received(Record#{key_updates => Updates}, Received), read, Reason)
    end.

%% -- client ------------------------------------------------------------------------------------

client(Opts) ->
    Ports = [list_to_integer(P) || P <- split(opt(Opts, "port", ""))],
    Count = int(Opts, "connections", 1),
    Timeout = timeout(Opts),
    Verify = case maps:is_key("ca", Opts) of
                 true -> [{verify, verify_peer}];
                 false -> [{verify, verify_none}]
             end,
    Sni = case opt(Opts, "sni", "localhost") of
              "none" -> [{server_name_indication, disable}];
              Name -> [{server_name_indication, Name}]
          end,
    Tickets = tickets(Opts, "auto"),
    Alpn = case maps:find("alpn", Opts) of
               {ok, Protocols} -> [{alpn_advertised_protocols, binaries(Protocols)}];
               error -> []
           end,
    SslOpts = common_options(Opts) ++ Verify ++ Sni ++ Tickets ++ Alpn,
    Payload = case maps:find("size", Opts) of
                  {ok, Size} -> payload(list_to_integer(Size));
                  error -> list_to_binary(opt(Opts, "message", "hello"))
              end,
    Index = fun(P, I) -> P * Count + I end,
    lists:foreach(
      fun({P, Port}) ->
              lists:foreach(
                fun(I) -> emit(connect_one(Port, Index(P, I), SslOpts, Payload, Opts, Timeout)) end,
                lists:seq(0, Count - 1))
      end,
      lists:zip(lists:seq(0, length(Ports) - 1), Ports)).

connect_one(Port, Index, SslOpts, Payload, Opts, Timeout) ->
    Record = #{event => connection, index => Index, role => client, port => Port},
    case ssl:connect({127, 0, 0, 1}, Port, SslOpts, Timeout) of
        {ok, Socket} ->
            R1 = describe(Record, Socket),
            R2 = case exchange(Socket, Payload, Timeout) of
                     {ok, Echo} ->
                         after_echo(Socket, Echo, Opts, Timeout, R1);
                     {error, Stage, Got, Reason} ->
                         failed(received(R1, Got), Stage, Reason)
                 end,
            ssl:close(Socket),
            R2;
        {error, Reason} ->
            failed(Record, handshake, Reason)
    end.

after_echo(Socket, Echo, Opts, Timeout, Record) ->
    case maps:find("key-update", Opts) of
        error ->
            received(Record, Echo);
        {ok, Type} ->
            Again = list_to_binary(opt(Opts, "message", "hello")),
            case ssl:update_keys(Socket, list_to_atom(Type)) of
                ok ->
                    case exchange(Socket, Again, Timeout) of
                        {ok, Echo2} ->
                            received(Record#{key_updates => 1}, <<Echo/binary, Echo2/binary>>);
                        {error, Stage, Got, Reason} ->
                            failed(received(Record, <<Echo/binary, Got/binary>>), Stage, Reason)
                    end;
                {error, Reason} ->
                    failed(received(Record, Echo), key_update, Reason)
            end
    end.

%% Send Payload from a writer process while this one reads its echo (neither side's buffers
%% can fill up with the other one waiting).
exchange(Socket, Payload, Timeout) ->
    Parent = self(),
    Writer = spawn_link(fun() -> Parent ! {self(), send_chunks(Socket, Payload)} end),
    Read = read_n(Socket, byte_size(Payload), Timeout, <<>>),
    Sent = receive {Writer, Result} -> Result after Timeout -> {error, write_timeout} end,
    case {Sent, Read} of
        {ok, {ok, Data}} -> {ok, Data};
        {_, {error, Reason, Data}} -> {error, read, Data, Reason};
        {{error, Reason}, {ok, Data}} -> {error, write, Data, Reason}
    end.

send_chunks(_Socket, <<>>) ->
    ok;
send_chunks(Socket, Data) ->
    Size = min(16384, byte_size(Data)),
    <<Chunk:Size/binary, Rest/binary>> = Data,
    case ssl:send(Socket, Chunk) of
        ok -> send_chunks(Socket, Rest);
        Error -> Error
    end.

read_n(_Socket, 0, _Timeout, Acc) ->
    {ok, Acc};
read_n(Socket, Left, Timeout, Acc) ->
    case recv(Socket, Timeout) of
        {ok, Data} when byte_size(Data) =< Left ->
            read_n(Socket, Left - byte_size(Data), Timeout, <<Acc/binary, Data/binary>>);
        {ok, Data} ->
            {error, {too_much, byte_size(Data) - Left}, <<Acc/binary, Data/binary>>};
        {error, Reason} ->
            {error, Reason, Acc}
    end.

%% One read in {active, once} mode. Not ssl:recv/3: in OTP 25 a passive recv now and then
%% misses a close_notify that arrives just after our ssl:send (it waits for its timeout, with
%% OpenSSL's close_notify as with tlsmachine's), where the active mode sees it at once.
recv(Socket, Timeout) ->
    case ssl:setopts(Socket, [{active, once}]) of
        ok ->
            receive
                {ssl, Socket, Data} -> {ok, Data};
                {ssl_closed, Socket} -> {error, closed};
                {ssl_error, Socket, Reason} -> {error, Reason}
            after Timeout -> {error, timeout}
            end;
        {error, Reason} ->
            {error, Reason}
    end.

payload(Size) -> list_to_binary([I rem 251 || I <- lists:seq(0, Size - 1)]).

%% -- records -----------------------------------------------------------------------------------

describe(Record, Socket) ->
    Items = [protocol, selected_cipher_suite, session_resumption, sni_hostname],
    {ok, Info} = ssl:connection_information(Socket, Items),
    Suite = proplists:get_value(selected_cipher_suite, Info),
    R1 = Record#{protocol => protocol_name(proplists:get_value(protocol, Info)),
                 cipher_suite => list_to_binary(ssl:suite_to_str(Suite)),
                 resumed => proplists:get_value(session_resumption, Info, null),
                 sni => case proplists:get_value(sni_hostname, Info) of
                            undefined -> null;
                            Name -> list_to_binary(Name)
                        end},
    R2 = case ssl:negotiated_protocol(Socket) of
             {ok, Protocol} -> R1#{alpn => Protocol};
             {error, _} -> R1#{alpn => null}
         end,
    case ssl:peercert(Socket) of
        {ok, Der} -> R2#{peer_cert_sha256 => hex(crypto:hash(sha256, Der))};
        {error, _} -> R2#{peer_cert_sha256 => null}
    end.

protocol_name('tlsv1.3') -> <<"TLSv1.3">>;
protocol_name('tlsv1.2') -> <<"TLSv1.2">>;
protocol_name(Other) -> atom_to_binary(Other).

received(Record, Data) ->
    R = Record#{received_length => byte_size(Data),
                received_sha256 => hex(crypto:hash(sha256, Data))},
    case byte_size(Data) =< 65536 of
        true -> R#{received => hex(Data)};
        false -> R
    end.

failed(Record, Stage, Reason) ->
    R = Record#{stage => Stage, error => text(Reason)},
    case Reason of
        {tls_alert, {Alert, Description}} ->
            R#{alert => Alert,
               alert_received => string:find(Description, "received") =/= nomatch};
        _ ->
            R
    end.

text(Term) -> unicode:characters_to_binary(io_lib:format("~0p", [Term])).

binaries(Text) -> [list_to_binary(P) || P <- split(Text)].

hex(Bin) -> list_to_binary([io_lib:format("~2.16.0b", [B]) || <<B>> <= Bin]).

%% -- a small JSON encoder (OTP 25 has none) ----------------------------------------------------

emit(Map) ->
    io:put_chars([json(Map), $\n]).

json(Map) when is_map(Map) ->
    Pairs = [[json(key(K)), ": ", json(V)] || {K, V} <- lists:sort(maps:to_list(Map))],
    [${, lists:join(", ", Pairs), $}];
json(null) -> "null";
json(true) -> "true";
json(false) -> "false";
json(Atom) when is_atom(Atom) -> json(atom_to_binary(Atom));
json(Int) when is_integer(Int) -> integer_to_list(Int);
json(Bin) when is_binary(Bin) -> [$", escape(Bin), $"];
json(List) when is_list(List) -> [$[, lists:join(", ", [json(E) || E <- List]), $]].

key(K) when is_atom(K) -> atom_to_binary(K);
key(K) -> K.

escape(Bin) ->
    [case C of
         $" -> "\\\"";
         $\\ -> "\\\\";
         C when C < 32 -> io_lib:format("\\u~4.16.0b", [C]);
         C -> C
     end || <<C>> <= Bin].
