package io.llmnpu.runtime.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Chat templates in the styles GGUF files carry, rendered by the Jinja engine. */
class JinjaChatTemplateTest {
    /** The "im_start" style (Qwen, many fine-tunes): every turn framed by markers, generation prompt last. */
    static final String IM_START = """
            {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}""";

    /** The "[INST]" style (Llama 2, Mistral): system folded into the first user turn, roles must alternate. */
    static final String INST = """
            {% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}{% set rest = messages[1:] %}\
            {% else %}{% set system = '' %}{% set rest = messages %}{% endif %}\
            {% for message in rest %}\
            {% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}\
            {% if loop.first and system != '' %}{% set content = '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}\
            {% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content | trim + ' [/INST]' }}\
            {% elif message['role'] == 'assistant' %}{{ ' ' + content | trim + ' ' + eos_token }}{% endif %}\
            {% endfor %}""";

    /** The header style (Llama 3): BOS once, a header per turn, content trimmed. */
    static final String HEADERS = """
            {{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}\
            {% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}""";

    @Test
    void imStartStyle() {
        JinjaChatTemplate t = new JinjaChatTemplate(IM_START, "<s>", "</s>");
        String out = t.render(List.of(Message.system("Be brief."), Message.user("Hi")), true);
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", out);
        assertEquals("<|im_start|>user\nHi<|im_end|>\n", t.render(List.of(Message.user("Hi")), false));
    }

    @Test
    void instStyleWithSystemSlicingAndTokens() {
        JinjaChatTemplate t = new JinjaChatTemplate(INST, "<s>", "</s>");
        String out = t.render(List.of(Message.system("Be brief."), Message.user(" Hi "), Message.assistant("Hello!"),
                Message.user("Bye")), true);
        assertEquals("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n Hi [/INST] Hello! </s><s>[INST] Bye [/INST]", out);
        assertEquals(List.of("</s>"), t.stopSequences());
    }

    @Test
    void raiseExceptionRefusesTheConversationWithTheTemplatesMessage() {
        JinjaChatTemplate t = new JinjaChatTemplate(INST, "<s>", "</s>");
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> t.render(List.of(Message.user("a"), Message.user("b")), true));
        assertTrue(e.getMessage().contains("roles must alternate"), e.getMessage());
    }

    @Test
    void headerStyle() {
        JinjaChatTemplate t = new JinjaChatTemplate(HEADERS, "<|begin_of_text|>", "<|eot_id|>");
        assertEquals("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", t.render(List.of(Message.user(" Hi\n")), true));
    }

    @Test
    void syntaxErrorIsReportedWhenTheTemplateIsLoaded() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> new JinjaChatTemplate("{% for m in messages %}{{ m['content'] }}", "", ""));
        assertTrue(e.getMessage().contains("cannot be rendered"), e.getMessage());
    }

    @Test
    void unknownFilterIsAClearErrorNotASilentlyWrongPrompt() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> new JinjaChatTemplate("{{ messages[0]['content'] | no_such_filter }}", "", ""));
        assertTrue(e.getMessage().contains("no_such_filter"), e.getMessage());
    }

    @Test
    void knownFiltersInsideStringsAndTagsAreAccepted() {
        JinjaChatTemplate t = new JinjaChatTemplate(
                "{{ 'a | b' }}{% for m in messages %}{{ m['content'] | trim | tojson }}{% endfor %}", "", "");
        assertEquals("a | b\"x\\\"y\"", t.render(List.of(Message.user(" x\"y ")), false));
    }

    @Test
    void hugeOutputIsRefused() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> new JinjaChatTemplate("{% for i in range(100000) %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }}{% endfor %}", "", ""));
        assertTrue(e.getMessage().contains("cannot be rendered"), e.getMessage());
    }

    @Test
    void plainFormatIsPrefixStable() {
        PlainChatFormat plain = new PlainChatFormat();
        List<Message> turn1 = List.of(Message.system("Tell stories."), Message.user("A cat"));
        String first = plain.render(turn1, true);
        assertEquals("Tell stories.\n\nUser: A cat\nAssistant:", first);
        String second = plain.render(List.of(turn1.get(0), turn1.get(1), Message.assistant("It sat."),
                Message.user("More")), true);
        assertEquals("Tell stories.\n\nUser: A cat\nAssistant: It sat.\nUser: More\nAssistant:", second);
        assertTrue(second.startsWith(first));
    }
}
