package io.llmnpu.runtime.quant;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An independent, minimal reader of a GGUF file's metadata section that reports each key's stored
 * value type (and element type for arrays) in file order, to check that rewritten files keep them.
 */
final class GgufMetadataScan {
    private static final int[] FIXED_SIZES = {1, 1, 2, 2, 4, 4, 4, 1, -1, -1, 8, 8, 8};

    private GgufMetadataScan() {
    }

    /** Key to "TYPE" or "ARRAY<TYPE>" with the GGUF type ids, in file order. */
    static Map<String, String> types(Path file) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (in.getInt() != 0x46554747) {
            throw new IOException("not GGUF");
        }
        in.getInt(); // version
        in.getLong(); // tensor count
        long kv = in.getLong();
        Map<String, String> types = new LinkedHashMap<>();
        for (long i = 0; i < kv; i++) {
            String key = string(in);
            int type = in.getInt();
            if (type == 9) {
                int element = in.getInt();
                long count = in.getLong();
                for (long j = 0; j < count; j++) {
                    skip(in, element);
                }
                types.put(key, "ARRAY<" + element + ">");
            } else {
                skip(in, type);
                types.put(key, Integer.toString(type));
            }
        }
        return types;
    }

    private static void skip(ByteBuffer in, int type) {
        if (type == 8) {
            string(in);
        } else {
            in.position(in.position() + FIXED_SIZES[type]);
        }
    }

    private static String string(ByteBuffer in) {
        byte[] b = new byte[(int) in.getLong()];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
