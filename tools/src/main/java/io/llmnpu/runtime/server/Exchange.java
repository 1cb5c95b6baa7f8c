package io.llmnpu.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.OutputStream;

/** The response side of one HTTP exchange, as the completion handler needs it. */
interface Exchange {

    /** Sends a whole JSON response. */
    void json(int status, JsonNode body);

    /** Starts a 200 response of server-sent events and returns its body stream. */
    OutputStream openEventStream();
}
